/*-------------------------------------------------------------------------
 *
 * fdw.c
 *	  vectorstore_fdw: a vector store as a table. The handler, the planning
 *	  of a search (which conditions become its inputs and filters, paths,
 *	  costs, LIMIT) and the credential a scan uses. The scan and EXPLAIN are
 *	  in fdw_scan.c, the translation of conditions in fdw_deparse.c, the
 *	  options in fdw_options.c, IMPORT FOREIGN SCHEMA in fdw_import.c.
 *
 * A search table has fixed columns known by name (query, file_id,
 * filename, score, content, rank, attributes, raw, and the inputs
 * max_num_results, rewrite_query, ranker) and attribute columns. A scan is
 * one search per query (POST /vector_stores/{id}/search): its rows are the
 * API's top results for that query under the filter, in score order.
 *
 * Planning sorts the conditions on the table (baserestrictinfo) into
 *	  - inputs: query = v (required) or query = ANY(v) (one search per
 *		element, concurrently), score >= v (score_threshold),
 *		max_num_results = v, rewrite_query = v, ranker = v;
 *	  - filters: conditions on attribute columns that fdw_deparse.c can
 *		write so that the API's answer is SQL's;
 *	  - local checks: everything else, as the plan's Filter.
 * Every v is an expression with no column of the table and nothing
 * volatile: a constant, a parameter (prepared statements), an outer row's
 * value (a nestloop parameter), evaluated when the scan starts.
 *
 * LIMIT: PostgreSQL offers a LIMIT (and ORDER BY) to a foreign table only
 * as an upper path of the whole query (UPPERREL_FINAL). When the scan has
 * no local checks and the order asked is one the scan gives (score
 * descending, or rank for one query), the LIMIT + OFFSET becomes
 * max_num_results and the scan returns exactly the final rows; with local
 * checks it is not sent (a top-k search filtered afterwards would return
 * too few rows), and the plan shows a Limit node. Without a LIMIT the
 * search asks for max_num_results (a condition, the table option, else
 * the API's default 10); inside a join a max_num_results = n condition is
 * the way to ask for n.
 *
 * Costs: a search is a network round trip, so a scan starts expensive and
 * yields few rows (max_num_results). That puts it on the outer side of a
 * nested loop over a table joined to its results (one request), and makes
 * a scan without a query (which cannot run) lose to a path parameterized
 * by a join on the query column (query = q.question: one search per outer
 * row).
 *
 *-------------------------------------------------------------------------
 */
#include "vs_fdw.h"

#include "access/stratnum.h"
#include "catalog/pg_am.h"
#include "catalog/pg_foreign_server.h"
#include "catalog/pg_opfamily.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "foreign/fdwapi.h"
#include "foreign/foreign.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/paths.h"
#include "optimizer/planmain.h"
#include "optimizer/restrictinfo.h"
#include "optimizer/tlist.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

PG_FUNCTION_INFO_V1(vectorstore_fdw_handler);

/* A search: a network round trip (the unit: one sequential page read is 1). */
#define VSFD_REQUEST_COST	1000.0
/* A result row: parsed from JSON, a little more than a heap tuple. */
#define VSFD_ROW_COST		0.05
/* Queries guessed for query = ANY(parameter) */
#define VSFD_GUESSED_QUERIES 5

/* What fdw_private of a RelOptInfo holds: a base relation or an upper one. */
#define VSFD_INFO_BASE	1
#define VSFD_INFO_UPPER 2

typedef struct VsfdRelInfo
{
	int			tag;			/* VSFD_INFO_BASE */
	VsfdTable  *table;
	List	   *filter_conds;	/* RestrictInfos sent as the filter */
	List	   *local_conds;	/* RestrictInfos checked locally */
	List	   *input_conds;	/* RestrictInfos that are inputs */
	Expr	   *inputs[VSFD_X_COUNT];	/* their values (VSFD_X_QUERY ..) */
	bool		query_any;
	double		per_query;		/* results asked per query */
	double		nqueries;
	Selectivity local_selec;
	QualCost	local_cost;
	Cost		startup_cost;
	Cost		total_cost;
} VsfdRelInfo;

typedef struct VsfdUpperInfo
{
	int			tag;			/* VSFD_INFO_UPPER */
	RelOptInfo *base;			/* the search table's relation */
} VsfdUpperInfo;

static Oid	vsfd_float_family = InvalidOid;
static Oid	vsfd_int_family = InvalidOid;

static void
vsfd_families(void)
{
	if (!OidIsValid(vsfd_float_family))
	{
		vsfd_float_family = get_opclass_family(GetDefaultOpClass(FLOAT8OID, BTREE_AM_OID));
		vsfd_int_family = get_opclass_family(GetDefaultOpClass(INT4OID, BTREE_AM_OID));
	}
}

/* ---------------------------------------------------------------------
 * The credential of a scan
 * ---------------------------------------------------------------------
 */

/*
 * Which credential a role uses on server serverid: the server's own
 * (NULL for server "vectorstore": the settings), or the one the user
 * mapping of server "vectorstore" names.
 */
static char *
vsfd_credential_choice(Oid serverid, Oid userid, bool *settings_server)
{
	ForeignServer *srv = GetForeignServer(serverid);
	char	   *mapped = vsfd_mapping_credential(serverid, userid);

	*settings_server = strcmp(srv->servername, VS_SETTINGS_SERVER) == 0;
	if (mapped != NULL && !*settings_server)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
				 errmsg("the user mapping of role \"%s\" for server \"%s\" names a credential",
						GetUserNameFromId(userid, false), srv->servername),
				 errdetail("Server \"%s\" is a credential itself; only user mappings for server \"%s\" choose one.",
						   srv->servername, VS_SETTINGS_SERVER)));
	return *settings_server ? mapped : srv->servername;
}

/*
 * The credential a scan of a table on server serverid uses for role
 * userid, checked as the functions check it. PostgreSQL checks USAGE on
 * a server when a foreign table is created on it, not when one is read,
 * so the check is here: the settings (server "vectorstore" without a user
 * mapping that names a credential) need USAGE on that server; a credential
 * named by the user mapping needs the role to be allowed that credential
 * (credential.c); a table on a credential's own server needs USAGE on it
 * and the same. This is the one place that decides: a change in how
 * credentials are granted is a change here.
 */
VsCredential *
vsfd_credential(Oid serverid, Oid userid, const char *relname)
{
	char	   *role = GetUserNameFromId(userid, false);
	bool		settings_server;
	char	   *name = vsfd_credential_choice(serverid, userid, &settings_server);
	char	   *err = NULL;
	char	   *what = relname ? psprintf("search foreign table \"%s\"", relname)
		: pstrdup("import from server");
	VsCredential *cred;

	if (name == NULL || !settings_server)
	{
		char	   *server = settings_server ? VS_SETTINGS_SERVER : name;

		if (pg_foreign_server_aclcheck(serverid, userid, ACL_USAGE) != ACLCHECK_OK)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("role \"%s\" may not %s with the credential of server \"%s\"",
							role, what, server),
					 errdetail("That needs USAGE on the server%s.",
							   settings_server ? ", or a user mapping that names a credential the role may use" : ""),
					 errhint("A superuser grants it with GRANT USAGE ON FOREIGN SERVER %s TO %s%s.",
							 quote_identifier(server), quote_identifier(role),
							 settings_server ? ", or creates a user mapping: CREATE USER MAPPING FOR ... SERVER vectorstore OPTIONS (credential '...')" : "")));
	}
	cred = vs_credential_for_role(role, name, &err);
	if (cred == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("role \"%s\" may not %s with credential \"%s\"",
						role, what, name ? name : "(settings)"),
				 errdetail_internal("%s", err ? err : ""),
				 errhint("A superuser grants credentials with vs_credential_grant().")));
	return cred;
}

/* What EXPLAIN (VERBOSE) shows of the credential: a name, never a key. */
char *
vsfd_credential_name(Oid serverid, Oid userid)
{
	bool		settings_server;
	char	   *name = vsfd_credential_choice(serverid, userid, &settings_server);

	if (name == NULL)
		return pstrdup("settings (server vectorstore)");
	return settings_server ? psprintf("%s (user mapping)", name) : pstrdup(name);
}

/* ---------------------------------------------------------------------
 * Inputs of a search
 * ---------------------------------------------------------------------
 */

/* The column and value of "column op value" in either order (op commuted). */
static AttrNumber
vsfd_sides(VsfdContext *ctx, OpExpr *op, Expr **value, Oid *opno)
{
	AttrNumber	attno;

	if (list_length(op->args) != 2)
		return 0;
	*opno = op->opno;
	if ((attno = vsfd_column_of(ctx, linitial(op->args))) != 0 &&
		vsfd_is_value(ctx, lsecond(op->args)))
	{
		*value = lsecond(op->args);
		return attno;
	}
	if ((attno = vsfd_column_of(ctx, lsecond(op->args))) != 0 &&
		vsfd_is_value(ctx, linitial(op->args)))
	{
		*value = linitial(op->args);
		*opno = get_commutator(op->opno);
		return OidIsValid(*opno) ? attno : 0;
	}
	return 0;
}

static bool
vsfd_is_strategy(Oid opno, Oid family, int strategy)
{
	return OidIsValid(opno) && get_op_opfamily_strategy(opno, family) == strategy;
}

/*
 * Is clause an input of the search? Returns its VSFD_X_* position and
 * value, or -1. The rows of a search satisfy each input by construction:
 * their query is the one searched, their max_num_results, rewrite_query
 * and ranker are the ones sent, and the API returns only scores at or
 * above score_threshold (the scan checks that too).
 */
static int
vsfd_input(VsfdContext *ctx, Expr *clause, Expr **value, bool *any)
{
	AttrNumber	attno;
	Oid			opno;
	Oid			type;
	VsfdColKind kind;

	*any = false;
	vsfd_families();
	if (IsA(clause, OpExpr))
	{
		attno = vsfd_sides(ctx, (OpExpr *) clause, value, &opno);
		if (attno == 0)
			return -1;
		kind = ctx->table->cols[attno - 1].kind;
		type = exprType((Node *) *value);
		switch (kind)
		{
			case VSFD_COL_QUERY:
			case VSFD_COL_RANKER:
				if (vsfd_is_strategy(opno, TEXT_BTREE_FAM_OID, BTEqualStrategyNumber) &&
					type == TEXTOID)
					return kind == VSFD_COL_QUERY ? VSFD_X_QUERY : VSFD_X_RANKER;
				return -1;
			case VSFD_COL_MAX_NUM_RESULTS:
				if (vsfd_is_strategy(opno, vsfd_int_family, BTEqualStrategyNumber) &&
					(type == INT2OID || type == INT4OID || type == INT8OID))
					return VSFD_X_MAX;
				return -1;
			case VSFD_COL_REWRITE_QUERY:
				if (vsfd_is_strategy(opno, BOOL_BTREE_FAM_OID, BTEqualStrategyNumber) &&
					type == BOOLOID)
					return VSFD_X_REWRITE;
				return -1;
			case VSFD_COL_SCORE:
				if (vsfd_is_strategy(opno, vsfd_float_family, BTGreaterEqualStrategyNumber) &&
					(type == FLOAT8OID || type == FLOAT4OID))
					return VSFD_X_SCORE;
				return -1;
			default:
				return -1;
		}
	}
	if (IsA(clause, ScalarArrayOpExpr))
	{
		ScalarArrayOpExpr *sa = (ScalarArrayOpExpr *) clause;

		if (!sa->useOr || list_length(sa->args) != 2)
			return -1;
		attno = vsfd_column_of(ctx, linitial(sa->args));
		if (attno == 0 || ctx->table->cols[attno - 1].kind != VSFD_COL_QUERY ||
			!vsfd_is_value(ctx, lsecond(sa->args)) ||
			!vsfd_is_strategy(sa->opno, TEXT_BTREE_FAM_OID, BTEqualStrategyNumber) ||
			exprType(lsecond(sa->args)) != TEXTARRAYOID)
			return -1;
		*value = lsecond(sa->args);
		*any = true;
		return VSFD_X_QUERY;
	}
	/* WHERE rewrite_query, WHERE NOT rewrite_query */
	{
		bool		negated = false;
		Expr	   *e = clause;

		if (IsA(e, BoolExpr) && ((BoolExpr *) e)->boolop == NOT_EXPR)
		{
			e = linitial(((BoolExpr *) e)->args);
			negated = true;
		}
		attno = vsfd_column_of(ctx, e);
		if (attno != 0 && ctx->table->cols[attno - 1].kind == VSFD_COL_REWRITE_QUERY)
		{
			*value = (Expr *) makeBoolConst(!negated, false);
			return VSFD_X_REWRITE;
		}
	}
	return -1;
}

/* ---------------------------------------------------------------------
 * Planning
 * ---------------------------------------------------------------------
 */
static void
vsfdGetForeignRelSize(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid)
{
	VsfdRelInfo *info = palloc0(sizeof(VsfdRelInfo));
	VsfdContext ctx = {0};
	ListCell   *lc;
	Expr	   *max;
	double		raw_rows;

	info->tag = VSFD_INFO_BASE;
	info->table = vsfd_table(foreigntableid);
	ctx.table = info->table;
	ctx.varno = baserel->relid;

	foreach(lc, baserel->baserestrictinfo)
	{
		RestrictInfo *ri = lfirst_node(RestrictInfo, lc);
		Expr	   *value;
		bool		any;
		int			input;

		if (ri->pseudoconstant)
			continue;			/* a gating qual, not the scan's */
		input = vsfd_input(&ctx, ri->clause, &value, &any);
		if (input >= 0 && info->inputs[input] == NULL)
		{
			info->inputs[input] = value;
			if (input == VSFD_X_QUERY)
				info->query_any = any;
			info->input_conds = lappend(info->input_conds, ri);
		}
		else if (vsfd_translate(&ctx, ri->clause) != NULL)
			info->filter_conds = lappend(info->filter_conds, ri);
		else
			info->local_conds = lappend(info->local_conds, ri);
	}

	/* rows: the results asked per query, times the queries, locally filtered */
	max = info->inputs[VSFD_X_MAX];
	info->per_query = info->table->max_num_results;
	if (max && IsA(max, Const) && !((Const *) max)->constisnull)
	{
		int64		n = ((Const *) max)->consttype == INT8OID ?
			DatumGetInt64(((Const *) max)->constvalue) :
			((Const *) max)->consttype == INT4OID ?
			DatumGetInt32(((Const *) max)->constvalue) :
			DatumGetInt16(((Const *) max)->constvalue);

		info->per_query = Min(Max(n, 1), VSFD_MAX_RESULTS);
	}
	info->nqueries = 1;
	if (info->query_any)
	{
		Expr	   *q = info->inputs[VSFD_X_QUERY];

		info->nqueries = VSFD_GUESSED_QUERIES;
		if (IsA(q, Const) && !((Const *) q)->constisnull)
			info->nqueries = Max(1, ArrayGetNItems(ARR_NDIM(DatumGetArrayTypeP(((Const *) q)->constvalue)),
												   ARR_DIMS(DatumGetArrayTypeP(((Const *) q)->constvalue))));
	}
	info->local_selec = clauselist_selectivity(root,
											   extract_actual_clauses(info->local_conds, false),
											   baserel->relid, JOIN_INNER, NULL);
	cost_qual_eval(&info->local_cost, extract_actual_clauses(info->local_conds, false), root);

	raw_rows = info->per_query * info->nqueries;
	baserel->tuples = raw_rows;
	baserel->rows = clamp_row_est(raw_rows * info->local_selec);
	info->startup_cost = VSFD_REQUEST_COST + info->local_cost.startup;
	info->total_cost = info->startup_cost +
		raw_rows * (cpu_tuple_cost + VSFD_ROW_COST + info->local_cost.per_tuple);
	baserel->fdw_private = info;
}

/* Which column a pathkey sorts by, in a direction the scan gives. */
static VsfdColKind
vsfd_pathkey_kind(PlannerInfo *root, RelOptInfo *rel, VsfdRelInfo *info, PathKey *pk)
{
	VsfdContext ctx = {0};
	ListCell   *lc;

	vsfd_families();
	ctx.table = info->table;
	ctx.varno = rel->relid;
	if (pk->pk_eclass->ec_has_volatile)
		return VSFD_COL_DROPPED;
	foreach(lc, pk->pk_eclass->ec_members)
	{
		EquivalenceMember *em = (EquivalenceMember *) lfirst(lc);
		AttrNumber	attno = vsfd_column_of(&ctx, em->em_expr);
		VsfdColKind kind;

		if (attno == 0)
			continue;
		kind = info->table->cols[attno - 1].kind;
		if (kind == VSFD_COL_SCORE && pk->pk_strategy == BTGreaterStrategyNumber &&
			pk->pk_opfamily == vsfd_float_family)
			return kind;
		if (kind == VSFD_COL_RANK && pk->pk_strategy == BTLessStrategyNumber &&
			pk->pk_opfamily == vsfd_int_family)
			return kind;
	}
	return VSFD_COL_DROPPED;
}

/*
 * The longest prefix of pathkeys the scan's order satisfies. Rows come
 * in descending score (ties: the query's position in the list, then the
 * API's order), which for one query is also rank order; with several
 * queries only "score descending" holds.
 */
static List *
vsfd_pathkeys_given(PlannerInfo *root, RelOptInfo *rel, VsfdRelInfo *info, List *pathkeys)
{
	List	   *given = NIL;
	ListCell   *lc;

	foreach(lc, pathkeys)
	{
		PathKey    *pk = (PathKey *) lfirst(lc);
		VsfdColKind kind = vsfd_pathkey_kind(root, rel, info, pk);

		if (kind == VSFD_COL_DROPPED)
			break;
		if (info->query_any && !(kind == VSFD_COL_SCORE && given == NIL))
			break;
		given = lappend(given, pk);
	}
	return given;
}

/* An equivalence class member that is the query column: for param paths. */
static bool
vsfd_ec_is_query(PlannerInfo *root, RelOptInfo *rel, EquivalenceClass *ec,
				 EquivalenceMember *em, void *arg)
{
	VsfdContext *ctx = (VsfdContext *) arg;
	AttrNumber	attno = vsfd_column_of(ctx, em->em_expr);

	return attno != 0 && ctx->table->cols[attno - 1].kind == VSFD_COL_QUERY;
}

static void
vsfdGetForeignPaths(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid)
{
	VsfdRelInfo *info = (VsfdRelInfo *) baserel->fdw_private;
	VsfdContext ctx = {0};
	List	   *candidates;
	ListCell   *lc;

	ctx.table = info->table;
	ctx.varno = baserel->relid;

	if (info->inputs[VSFD_X_QUERY] != NULL)
	{
		add_path(baserel, (Path *)
				 create_foreignscan_path(root, baserel, NULL, baserel->rows,
										 info->startup_cost, info->total_cost,
										 vsfd_pathkeys_given(root, baserel, info,
															 root->query_pathkeys),
										 NULL, NULL, NIL));
		return;
	}

	/*
	 * No query among the table's own conditions: the plain path cannot run
	 * (GetForeignPlan says why) and costs as much as a disabled one, so a
	 * path that takes the query from a join wins whenever there is one.
	 */
	add_path(baserel, (Path *)
			 create_foreignscan_path(root, baserel, NULL, baserel->rows,
									 info->startup_cost + disable_cost,
									 info->total_cost + disable_cost,
									 NIL, NULL, NULL, NIL));

	candidates = generate_implied_equalities_for_column(root, baserel, vsfd_ec_is_query,
														&ctx, baserel->lateral_referencers);
	foreach(lc, baserel->joininfo)
		candidates = lappend(candidates, lfirst(lc));
	foreach(lc, candidates)
	{
		RestrictInfo *ri = lfirst_node(RestrictInfo, lc);
		Expr	   *value;
		bool		any;
		Relids		outer;
		double		rows;

		if (vsfd_input(&ctx, ri->clause, &value, &any) != VSFD_X_QUERY)
			continue;
		outer = bms_difference(ri->clause_relids, baserel->relids);
		if (bms_is_empty(outer) || bms_overlap(outer, baserel->lateral_referencers))
			continue;
		(void) get_baserel_parampathinfo(root, baserel, outer);
		rows = clamp_row_est(info->per_query * (any ? VSFD_GUESSED_QUERIES : 1) *
							 info->local_selec);
		add_path(baserel, (Path *)
				 create_foreignscan_path(root, baserel, NULL, rows,
										 info->startup_cost, info->total_cost,
										 NIL, outer, NULL, NIL));
	}
}

/* One Var per column of the table: the scan tuple of an upper path's scan. */
static List *
vsfd_all_columns_tlist(VsfdTable *table, Index relid)
{
	List	   *tlist = NIL;

	for (int i = 0; i < table->natts; i++)
	{
		VsfdColumn *col = &table->cols[i];

		if (col->kind == VSFD_COL_DROPPED)
			continue;
		tlist = lappend(tlist,
						makeTargetEntry((Expr *) makeVar(relid, i + 1, col->typid, col->typmod,
														 col->collation, 0),
										list_length(tlist) + 1, NULL, false));
	}
	return tlist;
}

static ForeignScan *
vsfdGetForeignPlan(PlannerInfo *root, RelOptInfo *foreignrel, Oid foreigntableid,
				   ForeignPath *best_path, List *tlist, List *scan_clauses,
				   Plan *outer_plan)
{
	VsfdRelInfo *info;
	RelOptInfo *baserel = foreignrel;
	VsfdContext ctx = {0};
	Expr	   *inputs[VSFD_X_COUNT];
	List	   *filters = NIL;
	List	   *local = NIL;
	List	   *recheck = NIL;
	List	   *fdw_exprs = NIL;
	List	   *fdw_scan_tlist = NIL;
	bool		query_any;
	bool		upper = false;
	int			flags = 0;
	Index		scan_relid;
	ListCell   *lc;

	if (IS_UPPER_REL(foreignrel))
	{
		baserel = ((VsfdUpperInfo *) foreignrel->fdw_private)->base;
		upper = true;
	}
	info = (VsfdRelInfo *) baserel->fdw_private;
	ctx.table = info->table;
	ctx.varno = baserel->relid;
	memcpy(inputs, info->inputs, sizeof(inputs));
	query_any = info->query_any;

	if (upper)
	{
		/* an upper path is made only when nothing is checked locally */
		foreach(lc, info->filter_conds)
			filters = lappend(filters, lfirst_node(RestrictInfo, lc)->clause);
		foreach(lc, info->input_conds)
			recheck = lappend(recheck, lfirst_node(RestrictInfo, lc)->clause);
		inputs[VSFD_X_LIMIT] = (Expr *) linitial(best_path->fdw_private);
		inputs[VSFD_X_OFFSET] = (Expr *) lsecond(best_path->fdw_private);
		flags |= VSFD_F_LIMIT;
	}
	else
	{
		foreach(lc, scan_clauses)
		{
			RestrictInfo *ri = lfirst_node(RestrictInfo, lc);
			Expr	   *value;
			bool		any;

			if (ri->pseudoconstant)
				continue;
			if (list_member_ptr(info->input_conds, ri))
				recheck = lappend(recheck, ri->clause);
			else if (list_member_ptr(info->filter_conds, ri))
				filters = lappend(filters, ri->clause);
			else if (list_member_ptr(info->local_conds, ri))
				local = lappend(local, ri->clause);
			/* a join clause of a parameterized path */
			else if (inputs[VSFD_X_QUERY] == NULL &&
					 vsfd_input(&ctx, ri->clause, &value, &any) == VSFD_X_QUERY)
			{
				inputs[VSFD_X_QUERY] = value;
				query_any = any;
				recheck = lappend(recheck, ri->clause);
			}
			else if (vsfd_translate(&ctx, ri->clause) != NULL)
				filters = lappend(filters, ri->clause);
			else
				local = lappend(local, ri->clause);
		}
	}

	if (inputs[VSFD_X_QUERY] == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_UNABLE_TO_CREATE_EXECUTION),
				 errmsg("a search of foreign table \"%s\" needs a query", info->table->relname),
				 errdetail("Rows of a search table exist only for the query searched."),
				 errhint("Add WHERE query = '...' (or query = ANY(ARRAY[...]) for several), or join on the query column.")));

	/* the filter is checked again on each row the API returns (fdw_scan.c) */
	recheck = list_concat(recheck, filters);
	for (int i = 0; i < VSFD_X_COUNT; i++)
		fdw_exprs = lappend(fdw_exprs, i == VSFD_X_FILTERS ? (void *) filters : (void *) inputs[i]);
	if (query_any)
		flags |= VSFD_F_QUERY_ANY;

	if (upper)
	{
		scan_relid = 0;
		fdw_scan_tlist = vsfd_all_columns_tlist(info->table, baserel->relid);
	}
	else
		scan_relid = baserel->relid;

	return make_foreignscan(tlist, local, scan_relid, fdw_exprs,
							list_make2(makeString(psprintf("%u", info->table->relid)),
									   makeInteger(flags)),
							fdw_scan_tlist, recheck, outer_plan);
}

/* Can LIMIT / OFFSET expression e be evaluated when the scan starts? */
static bool
vsfd_limit_ok(VsfdContext *ctx, Node *e)
{
	return e == NULL || vsfd_is_value(ctx, (Expr *) e);
}

/*
 * LIMIT (and the ORDER BY under it) as the search's max_num_results: an
 * upper path that does the whole query, offered only when it is exact.
 */
static void
vsfdGetForeignUpperPaths(PlannerInfo *root, UpperRelationKind stage,
						 RelOptInfo *input_rel, RelOptInfo *output_rel, void *extra)
{
	Query	   *parse = root->parse;
	FinalPathExtraData *fextra = (FinalPathExtraData *) extra;
	RelOptInfo *base;
	VsfdRelInfo *info;
	VsfdUpperInfo *uinfo;
	VsfdContext ctx = {0};
	List	   *pathkeys = NIL;
	List	   *vars;
	ListCell   *lc;
	double		rows;
	Cost		startup;
	Cost		total;

	if (input_rel->fdw_private == NULL)
		return;
	if (stage == UPPERREL_ORDERED)
	{
		/* remember the search under the ORDER BY; its paths are already ordered */
		if (input_rel->reloptkind == RELOPT_BASEREL &&
			*(int *) input_rel->fdw_private == VSFD_INFO_BASE)
		{
			uinfo = palloc0(sizeof(VsfdUpperInfo));
			uinfo->tag = VSFD_INFO_UPPER;
			uinfo->base = input_rel;
			output_rel->fdw_private = uinfo;
		}
		return;
	}
	if (stage != UPPERREL_FINAL || !fextra->limit_needed)
		return;
	if (parse->commandType != CMD_SELECT || parse->rowMarks != NIL ||
		parse->hasTargetSRFs || parse->limitOption == LIMIT_OPTION_WITH_TIES)
		return;

	if (input_rel->reloptkind == RELOPT_BASEREL &&
		*(int *) input_rel->fdw_private == VSFD_INFO_BASE)
		base = input_rel;
	else if (input_rel->reloptkind == RELOPT_UPPER_REL &&
			 *(int *) input_rel->fdw_private == VSFD_INFO_UPPER)
	{
		base = ((VsfdUpperInfo *) input_rel->fdw_private)->base;
		pathkeys = root->sort_pathkeys;
	}
	else
		return;
	info = (VsfdRelInfo *) base->fdw_private;
	ctx.table = info->table;
	ctx.varno = base->relid;

	/* exact only when nothing is checked locally and the order is ours */
	if (info->local_conds != NIL || info->inputs[VSFD_X_QUERY] == NULL)
		return;
	if (list_length(vsfd_pathkeys_given(root, base, info, pathkeys)) != list_length(pathkeys))
		return;
	if (!vsfd_limit_ok(&ctx, parse->limitCount) || !vsfd_limit_ok(&ctx, parse->limitOffset))
		return;
	/* the scan tuple has every column; no whole-row or system column */
	vars = pull_var_clause((Node *) root->upper_targets[UPPERREL_FINAL]->exprs,
						   PVC_INCLUDE_PLACEHOLDERS);
	foreach(lc, vars)
	{
		Var		   *v = (Var *) lfirst(lc);

		if (!IsA(v, Var) || v->varno != base->relid || v->varattno <= 0)
			return;
	}

	rows = base->rows;
	if (fextra->count_est > 0)
		rows = Min(rows, (double) fextra->count_est);
	/* fewer results to fetch than the plain search */
	startup = info->startup_cost * 0.9;
	total = startup + rows * (cpu_tuple_cost + VSFD_ROW_COST);

	uinfo = palloc0(sizeof(VsfdUpperInfo));
	uinfo->tag = VSFD_INFO_UPPER;
	uinfo->base = base;
	output_rel->fdw_private = uinfo;
	add_path(output_rel, (Path *)
			 create_foreign_upper_path(root, output_rel,
									   root->upper_targets[UPPERREL_FINAL],
									   rows, startup, total, pathkeys, NULL,
									   list_make2(parse->limitCount, parse->limitOffset)));
}

Datum
vectorstore_fdw_handler(PG_FUNCTION_ARGS)
{
	FdwRoutine *r = makeNode(FdwRoutine);

	r->GetForeignRelSize = vsfdGetForeignRelSize;
	r->GetForeignPaths = vsfdGetForeignPaths;
	r->GetForeignPlan = vsfdGetForeignPlan;
	r->GetForeignUpperPaths = vsfdGetForeignUpperPaths;
	r->BeginForeignScan = vsfd_begin_scan;
	r->IterateForeignScan = vsfd_iterate;
	r->ReScanForeignScan = vsfd_rescan;
	r->EndForeignScan = vsfd_end_scan;
	r->ExplainForeignScan = vsfd_explain;
	r->ImportForeignSchema = vsfd_import_schema;
	PG_RETURN_POINTER(r);
}
