/*-------------------------------------------------------------------------
 *
 * vs_fdw.h
 *	  Declarations shared by the foreign data wrapper's files: the handler
 *	  (fdw.c: planning, paths, scan, EXPLAIN, IMPORT FOREIGN SCHEMA), the
 *	  translation of conditions into the API's filters (fdw_deparse.c) and
 *	  the options (fdw_options.c). Internal to them.
 *
 *-------------------------------------------------------------------------
 */
#ifndef VS_FDW_H
#define VS_FDW_H

#include "vectorstore.h"

#include "nodes/execnodes.h"
#include "nodes/parsenodes.h"
#include "nodes/pathnodes.h"
#include "nodes/primnodes.h"

#define VS_SETTINGS_SERVER	"vectorstore"	/* the settings credential's server */
#define VSFD_DEFAULT_RESULTS 10 /* the API's own default max_num_results */
#define VSFD_MAX_RESULTS	50	/* the API's largest max_num_results */

/* What a column of a search table is. */
typedef enum VsfdColKind
{
	VSFD_COL_DROPPED,
	VSFD_COL_QUERY,				/* the query searched (input) */
	VSFD_COL_FILE_ID,
	VSFD_COL_FILENAME,
	VSFD_COL_SCORE,
	VSFD_COL_CONTENT,			/* text parts joined with "\n" */
	VSFD_COL_RANK,				/* 1.. per query, in score order */
	VSFD_COL_ATTRIBUTES,		/* all attributes (jsonb) */
	VSFD_COL_RAW,				/* the whole result object (jsonb) */
	VSFD_COL_MAX_NUM_RESULTS,	/* input: results asked for */
	VSFD_COL_REWRITE_QUERY,		/* input: rewrite_query */
	VSFD_COL_RANKER,			/* input: ranking_options.ranker */
	VSFD_COL_ATTRIBUTE			/* one file attribute */
} VsfdColKind;

/* How an attribute column reads and compares its values. */
typedef enum VsfdValKind
{
	VSFD_VAL_TEXT,				/* JSON string; text, varchar */
	VSFD_VAL_INT,				/* JSON number; int2, int4, int8 */
	VSFD_VAL_FLOAT8,			/* JSON number; float8 */
	VSFD_VAL_FLOAT4,			/* JSON number; float4 (read only, never pushed) */
	VSFD_VAL_NUMERIC,			/* JSON number; numeric */
	VSFD_VAL_BOOL,				/* JSON boolean */
	VSFD_VAL_TIMESTAMPTZ		/* JSON number of epoch seconds */
} VsfdValKind;

typedef struct VsfdColumn
{
	VsfdColKind kind;
	VsfdValKind vkind;			/* attribute columns */
	char	   *name;			/* column name */
	char	   *key;			/* attribute key (server encoding) */
	Oid			typid;
	int32		typmod;
	Oid			collation;
	Oid			family;			/* btree opfamily of the type (attributes) */
} VsfdColumn;

/* A search table: its options and columns (fdw_options.c reads them). */
typedef struct VsfdTable
{
	Oid			relid;
	char	   *relname;
	Oid			serverid;
	char	   *vector_store_id;
	int			max_num_results;	/* table option, else VSFD_DEFAULT_RESULTS */
	bool		max_from_option;
	char	   *ranker;			/* NULL: not sent */
	double		score_threshold;	/* < 0: not sent */
	int			rewrite_query;	/* -1: not sent */
	int			natts;
	VsfdColumn *cols;			/* [natts]; attno - 1 */
} VsfdTable;

/*
 * What a plan hands the scan. fdw_exprs holds, at these positions, the
 * conditions sent as filters (a List) and the value expressions of the
 * search's inputs (NULL when absent), so that setrefs and nestloop
 * parameters apply to them; fdw_private holds the table's oid and flags.
 */
typedef enum VsfdExprIndex
{
	VSFD_X_FILTERS,				/* List of conditions sent as the filter */
	VSFD_X_QUERY,				/* query = v, or query = ANY(v) */
	VSFD_X_SCORE,				/* score >= v: ranking_options.score_threshold */
	VSFD_X_MAX,					/* max_num_results = v */
	VSFD_X_REWRITE,				/* rewrite_query = v */
	VSFD_X_RANKER,				/* ranker = v */
	VSFD_X_LIMIT,				/* LIMIT v (upper path) */
	VSFD_X_OFFSET,				/* OFFSET v (upper path) */
	VSFD_X_COUNT
} VsfdExprIndex;

typedef enum VsfdPrivateIndex
{
	VSFD_P_RELID,				/* String: the foreign table's oid */
	VSFD_P_FLAGS,				/* Integer: VSFD_F_* */
	VSFD_P_COUNT
} VsfdPrivateIndex;

#define VSFD_F_QUERY_ANY	0x01	/* query = ANY(array): one search per element */
#define VSFD_F_LIMIT		0x02	/* the scan does LIMIT / OFFSET */

/* fdw_scan.c: the executor's callbacks */
struct ExplainState;
extern void vsfd_begin_scan(ForeignScanState *node, int eflags);
extern TupleTableSlot *vsfd_iterate(ForeignScanState *node);
extern void vsfd_rescan(ForeignScanState *node);
extern void vsfd_end_scan(ForeignScanState *node);
extern void vsfd_explain(ForeignScanState *node, struct ExplainState *es);

/* fdw_import.c */
extern List *vsfd_import_schema(ImportForeignSchemaStmt *stmt, Oid serverOid);

/* fdw.c: the credential a scan of a table on serverid uses for userid (checked) */
extern VsCredential *vsfd_credential(Oid serverid, Oid userid, const char *relname);
extern char *vsfd_credential_name(Oid serverid, Oid userid);

/* fdw_options.c */
extern VsfdTable *vsfd_table(Oid relid);
extern char *vsfd_mapping_credential(Oid serverid, Oid userid);

/*
 * The translation of conditions (fdw_deparse.c). A context says which Vars
 * are the table's columns and how the values of the other side of a
 * comparison are known: not at all (planning decides what can be sent),
 * as constants only (EXPLAIN), or evaluated (a scan).
 */
typedef enum VsfdValueState
{
	VSFD_VALUE_UNKNOWN,			/* planning: not known yet */
	VSFD_VALUE_SHOWN,			/* EXPLAIN: not known, shown as text */
	VSFD_VALUE_KNOWN			/* value / isnull are set */
} VsfdValueState;

typedef VsfdValueState (*VsfdValueFn) (Expr *expr, void *arg, Datum *value,
									   bool *isnull, char **shown);

typedef struct VsfdContext
{
	VsfdTable  *table;
	Index		varno;			/* Vars of the table have this varno ... */
	const AttrNumber *index_attno;	/* ... or INDEX_VAR: attno of entry i+1 */
	int			n_index;
	VsfdValueFn value_fn;		/* NULL: planning */
	void	   *value_arg;
} VsfdContext;

/* A translated filter: true, false, and, or, or one comparison. */
typedef enum VsfdNodeKind
{
	VSFD_TRUE,
	VSFD_FALSE,
	VSFD_AND,
	VSFD_OR,
	VSFD_CMP
} VsfdNodeKind;

typedef struct VsfdJsonValue
{
	char		kind;			/* 's' string, 'n' number, 'b' boolean, 'x' shown text */
	char	   *str;			/* string (server encoding) or shown text */
	double		num;
	bool		b;
} VsfdJsonValue;

typedef struct VsfdNode
{
	VsfdNodeKind kind;
	List	   *children;		/* VSFD_AND, VSFD_OR */
	const char *op;				/* VSFD_CMP: eq ne gt gte lt lte in nin */
	const char *key;			/* attribute key (server encoding) */
	VsfdJsonValue *value;		/* a scalar (or, shown, an unknown array) */
	VsfdJsonValue *values;		/* the elements of in/nin */
	int			nvalues;
} VsfdNode;

/* Does expr hold no Var of the table and nothing volatile (a value)? */
extern bool vsfd_is_value(VsfdContext *ctx, Expr *expr);

/* The column a Var of the table stands for (attno), or 0. */
extern AttrNumber vsfd_column_of(VsfdContext *ctx, Expr *expr);

/*
 * Translate one condition (or a list, ANDed) into a filter whose answer is
 * SQL's: NULL when that cannot be done. With values unknown the result only
 * says whether it can; the shape never depends on the values.
 */
extern VsfdNode *vsfd_translate(VsfdContext *ctx, Expr *clause);
extern VsfdNode *vsfd_translate_list(VsfdContext *ctx, List *clauses);

/* The filter as the API's JSON (owned by the current context), or as text. */
extern cJSON *vsfd_node_json(const VsfdNode *node);
extern void vsfd_node_text(StringInfo buf, const VsfdNode *node);
extern void vsfd_add_number(cJSON *obj, const char *key, double d);

/* A JSON number as the column's type (the inverse of what is sent). */
extern Datum vsfd_number_datum(const VsfdColumn *col, double x, bool *isnull,
							   const char *file_id);

#endif							/* VS_FDW_H */
