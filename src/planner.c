/*-------------------------------------------------------------------------
 *
 * planner.c
 *	  What the planner is told about the network functions.
 *
 * Rows: vs_search_support, the planner support function of vs_search and
 * vs_search_many, estimates their rows from max_num_results (a search
 * returns at most that many; the API's default is 10) and, for
 * vs_search_many, times the number of queries when the array is a constant
 * or an ARRAY[...] list (else PostgreSQL's usual guess of 10 elements). So
 * EXPLAIN of vs_search(..., max_num_results => 3) says rows=3, and a join
 * on its results is planned for 3 rows, not for the 10 (or 1000) of a
 * fixed ROWS.
 *
 * Cost: every network function gets COST VS_NETWORK_COST (set in
 * sql/install/95_costs.sql, after every function exists). The planner
 * orders the conditions of a scan by cost, so with the COST of 1 that 0.1.0
 * had, "WHERE id % 100 = 0 AND vs_search_json(...) IS NOT NULL" sent a
 * request for every row before looking at the id. The value is a balance
 * measured with JIT on (bench/README.md, "COST and JIT"): high enough to
 * come after any cheap condition (operators cost 1, SQL and PL/pgSQL
 * functions 100 each), low enough that an ordinary query does not cross
 * jit_above_cost (100000), which would make it pay for JIT compilation.
 *
 *-------------------------------------------------------------------------
 */
#include "vectorstore.h"

#include "nodes/nodeFuncs.h"
#include "nodes/supportnodes.h"
#include "optimizer/optimizer.h"
#include "utils/lsyscache.h"
#include "utils/selfuncs.h"

PG_FUNCTION_INFO_V1(vs_search_support);

/* Results one search returns at most, from its max_num_results argument. */
static double
vs_results_per_search(List *args)
{
	Node	   *max = list_length(args) > 2 ? (Node *) list_nth(args, 2) : NULL;

	if (max && IsA(max, Const) && !((Const *) max)->constisnull)
	{
		int32		v = DatumGetInt32(((Const *) max)->constvalue);

		/* out of range raises when called; estimate within the range */
		return (double) Min(Max(v, 1), VS_SEARCH_MAX_RESULTS);
	}
	return VS_SEARCH_DEFAULT_RESULTS;
}

/*
 * vs_search_support(internal) -> internal: SupportRequestRows for vs_search
 * (both overloads: an array there is one search over several strings) and
 * vs_search_many (one search per element).
 */
Datum
vs_search_support(PG_FUNCTION_ARGS)
{
	Node	   *rawreq = (Node *) PG_GETARG_POINTER(0);

	if (IsA(rawreq, SupportRequestRows))
	{
		SupportRequestRows *req = (SupportRequestRows *) rawreq;
		FuncExpr   *fe;
		char	   *name;
		double		rows;

		if (req->node == NULL || !is_funcclause(req->node))
			PG_RETURN_POINTER(NULL);
		fe = (FuncExpr *) req->node;
		rows = vs_results_per_search(fe->args);
		name = get_func_name(req->funcid);
		if (name && strcmp(name, "vs_search_many") == 0 && list_length(fe->args) > 1)
			rows *= estimate_array_length((Node *) list_nth(fe->args, 1));
		req->rows = rows;
		PG_RETURN_POINTER(req);
	}
	PG_RETURN_POINTER(NULL);
}
