/*
 * pg_shim.h
 *	  The harnesses' view of pg_shim.c: run a function as inside PG_TRY,
 *	  see the ERROR it raised, and reset the memory after each input.
 */
#ifndef PG_SHIM_H
#define PG_SHIM_H

typedef struct ShimError
{
	int			sqlerrcode;		/* MAKE_SQLSTATE value of the last ERROR */
	char		message[1024];
	char		detail[1024];
} ShimError;

extern ShimError shim_error;

/* Run fn(arg); false (and shim_error filled) when it raised an ERROR. */
extern bool shim_try(void (*fn) (void *), void *arg);

/* Free everything palloc'd since the last reset (a memory context reset). */
extern void shim_reset(void);

/* Call once near the top of the stack, for check_stack_depth(). */
extern void shim_set_stack_base(void);

/* The five-character SQLSTATE of a MAKE_SQLSTATE value (static buffer). */
extern const char *shim_sqlstate(int sqlerrcode);

#endif
