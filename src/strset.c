/*-------------------------------------------------------------------------
 *
 * strset.c
 *	  A set of strings for the duplicate checks and lookups done over input
 *	  whose size a role or a server decides (query = ANY(array), file_ids,
 *	  the attribute keys IMPORT FOREIGN SCHEMA sees): a hash table, so that
 *	  n strings cost n lookups, never n * n comparisons. Each string carries
 *	  an int the caller keeps (an index, a count).
 *
 *	  The set keeps pointers, not copies: a string must live as long as the
 *	  set. The table lives in a memory context of its own, a child of the
 *	  context current when it was made; vs_strset_free releases it early.
 *
 *-------------------------------------------------------------------------
 */
#include "vectorstore.h"

#include "common/hashfn.h"
#include "utils/hsearch.h"

struct VsStrSet
{
	HTAB	   *tab;
};

typedef struct VsStrEntry
{
	const char *key;			/* the hash key: the pointer, hashed as a string */
	int			value;
} VsStrEntry;

static uint32
vs_strset_hash(const void *key, Size keysize)
{
	const char *s = *(const char *const *) key;

	return hash_bytes((const unsigned char *) s, (int) strlen(s));
}

static int
vs_strset_match(const void *key1, const void *key2, Size keysize)
{
	return strcmp(*(const char *const *) key1, *(const char *const *) key2);
}

VsStrSet *
vs_strset_create(const char *name, long nelem)
{
	VsStrSet   *set = palloc(sizeof(VsStrSet));
	HASHCTL		ctl;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(const char *);
	ctl.entrysize = sizeof(VsStrEntry);
	ctl.hash = vs_strset_hash;
	ctl.match = vs_strset_match;
	ctl.hcxt = CurrentMemoryContext;
	set->tab = hash_create(name, Max(nelem, 16), &ctl,
						   HASH_ELEM | HASH_FUNCTION | HASH_COMPARE | HASH_CONTEXT);
	return set;
}

/*
 * The int kept with s, entered (set to -1) if s was not in the set; *found
 * says which.
 */
int *
vs_strset_enter(VsStrSet *set, const char *s, bool *found)
{
	VsStrEntry *e = hash_search(set->tab, &s, HASH_ENTER, found);

	if (!*found)
		e->value = -1;
	return &e->value;
}

/* The int kept with s, or NULL when s is not in the set. */
int *
vs_strset_find(VsStrSet *set, const char *s)
{
	VsStrEntry *e = hash_search(set->tab, &s, HASH_FIND, NULL);

	return e ? &e->value : NULL;
}

long
vs_strset_count(VsStrSet *set)
{
	return hash_get_num_entries(set->tab);
}

void
vs_strset_free(VsStrSet *set)
{
	hash_destroy(set->tab);
	pfree(set);
}
