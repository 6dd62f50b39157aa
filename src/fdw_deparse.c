/*-------------------------------------------------------------------------
 *
 * fdw_deparse.c
 *	  Which conditions on a search table can be sent to the API as its
 *	  filters, and their translation into the filter JSON (as postgres_fdw's
 *	  deparse.c decides what a remote server can evaluate and writes it out).
 *
 * Exact or not at all
 * -------------------
 * A filter is sent only when the API's answer is SQL's. A column reads an
 * attribute when its JSON type fits the column (a string for text, a number
 * for the numeric types and timestamptz, a boolean for boolean); a missing
 * attribute, a null, or a value of another type reads as NULL. The API, for
 * its part, makes a comparison with a missing attribute or a value of
 * another type false — except ne and nin, which it makes true. Every
 * condition c is translated twice over: F+(c), true exactly where c is TRUE,
 * and F-(c), true exactly where c is FALSE (where it is NULL, neither is),
 * which is what NOT needs: F+(NOT c) = F-(c), F-(a AND b) = F-(a) OR F-(b).
 *
 *	  a = v, a < v, a <= v ...	eq, lt, lte, gt, gte: false where a is NULL
 *	  a <> v				or(lt v, gt v): present, of the type, and not v
 *							(ne alone is true where a is NULL)
 *	  a IN (...)			in [...]
 *	  a NOT IN (...)		and(nin [...], present(a)); a NULL in the list
 *							makes it never true, an empty list always
 *	  a IS NOT NULL			present(a): gte "" for strings, or(gte 0, lt 0)
 *							for numbers, or(eq true, eq false) for booleans
 *	  a IS NULL				cannot be sent (the API has no "missing" test)
 *	  NOT (a < v)			gte v (no guard needed: gte is false where a is NULL)
 *
 * Strings: equality is byte equality in both for a deterministic collation;
 * order is sent only for a "C" collation in a UTF8 (or SQL_ASCII) database,
 * because the API orders strings by their UTF-8 bytes. Booleans have no
 * order in the API: a <> true is sent as eq false.
 *
 * Numbers: the API compares doubles, and a column reads the double it is
 * given (numeric: its shortest decimal; timestamptz: epoch seconds to the
 * microsecond). A value v that no attribute can equal exactly (0.1 + 1e-20
 * as numeric, 2^53 + 1 as bigint, a timestamp beyond 2106) is sent as the
 * double d it rounds to, with the operator adjusted so the answer is SQL's:
 * = is never true, <> is present(a), and with v just below d, a < v and
 * a <= v become lt d, a > v and a >= v become gte d (just above: lte, gt).
 * Infinities and NaN are above (or below) every attribute.
 *
 * The shape of a translation never depends on the values, so planning
 * (values unknown) decides what is sent and what is checked locally, and
 * the scan (values known: constants, parameters, outer rows) or EXPLAIN
 * (constants known, the rest shown as expressions) write it out.
 *
 *-------------------------------------------------------------------------
 */
#include "vs_fdw.h"

#include "access/stratnum.h"
#include "catalog/pg_type.h"
#include "common/int.h"
#include "common/shortest_dec.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/pg_locale.h"
#include "utils/timestamp.h"

#include <float.h>
#include <math.h>

/* The comparisons of SQL's side. */
typedef enum VsfdOp
{
	VSFD_OP_NONE = -1,
	VSFD_OP_EQ,
	VSFD_OP_NE,
	VSFD_OP_LT,
	VSFD_OP_LE,
	VSFD_OP_GT,
	VSFD_OP_GE
} VsfdOp;

static const char *const vsfd_op_json[] = {"eq", "ne", "lt", "lte", "gt", "gte"};

/* microseconds from 1970-01-01 to PostgreSQL's epoch 2000-01-01 */
#define VSFD_UNIX_OFFSET_US \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY)

static VsfdNode *vsfd_walk(VsfdContext *ctx, Expr *expr, bool positive);

/* ---------------------------------------------------------------------
 * Nodes
 * ---------------------------------------------------------------------
 */
static VsfdNode *
vsfd_const_node(bool value)
{
	VsfdNode   *n = palloc0(sizeof(VsfdNode));

	n->kind = value ? VSFD_TRUE : VSFD_FALSE;
	return n;
}

/* and/or of children, folding true and false and flattening */
static VsfdNode *
vsfd_combine(VsfdNodeKind kind, List *children)
{
	List	   *kept = NIL;
	ListCell   *lc;
	VsfdNode   *n;

	foreach(lc, children)
	{
		VsfdNode   *c = (VsfdNode *) lfirst(lc);

		if (c->kind == (kind == VSFD_AND ? VSFD_TRUE : VSFD_FALSE))
			continue;			/* neutral */
		if (c->kind == (kind == VSFD_AND ? VSFD_FALSE : VSFD_TRUE))
			return c;			/* absorbing */
		if (c->kind == kind)
			kept = list_concat(kept, c->children);
		else
			kept = lappend(kept, c);
	}
	if (kept == NIL)
		return vsfd_const_node(kind == VSFD_AND);
	if (list_length(kept) == 1)
		return (VsfdNode *) linitial(kept);
	n = palloc0(sizeof(VsfdNode));
	n->kind = kind;
	n->children = kept;
	return n;
}

static VsfdNode *
vsfd_pair(VsfdNodeKind kind, VsfdNode *a, VsfdNode *b)
{
	return vsfd_combine(kind, list_make2(a, b));
}

static VsfdNode *
vsfd_cmp_node(const VsfdColumn *col, const char *op, VsfdJsonValue *value)
{
	VsfdNode   *n = palloc0(sizeof(VsfdNode));

	n->kind = VSFD_CMP;
	n->op = op;
	n->key = col->key;
	n->value = value;
	return n;
}

static VsfdJsonValue *
vsfd_num(double d)
{
	VsfdJsonValue *v = palloc0(sizeof(VsfdJsonValue));

	v->kind = 'n';
	v->num = d;
	return v;
}

static VsfdJsonValue *
vsfd_bool(bool b)
{
	VsfdJsonValue *v = palloc0(sizeof(VsfdJsonValue));

	v->kind = 'b';
	v->b = b;
	return v;
}

static VsfdJsonValue *
vsfd_str(char *s)
{
	VsfdJsonValue *v = palloc0(sizeof(VsfdJsonValue));

	v->kind = 's';
	v->str = s;
	return v;
}

static VsfdJsonValue *
vsfd_shown(char *s)
{
	VsfdJsonValue *v = palloc0(sizeof(VsfdJsonValue));

	v->kind = 'x';
	v->str = s;
	return v;
}

/* present(a): the attribute is there and of the column's JSON type */
static VsfdNode *
vsfd_present(const VsfdColumn *col)
{
	switch (col->vkind)
	{
		case VSFD_VAL_TEXT:
			return vsfd_cmp_node(col, "gte", vsfd_str(""));
		case VSFD_VAL_BOOL:
			return vsfd_pair(VSFD_OR, vsfd_cmp_node(col, "eq", vsfd_bool(true)),
							 vsfd_cmp_node(col, "eq", vsfd_bool(false)));
		default:
			return vsfd_pair(VSFD_OR, vsfd_cmp_node(col, "gte", vsfd_num(0)),
							 vsfd_cmp_node(col, "lt", vsfd_num(0)));
	}
}

/* ---------------------------------------------------------------------
 * Columns and values
 * ---------------------------------------------------------------------
 */
AttrNumber
vsfd_column_of(VsfdContext *ctx, Expr *expr)
{
	Var		   *v;
	AttrNumber	attno;

	while (expr && IsA(expr, RelabelType))
		expr = ((RelabelType *) expr)->arg;
	if (expr == NULL || !IsA(expr, Var))
		return 0;
	v = (Var *) expr;
	if (v->varlevelsup != 0)
		return 0;
	if (v->varno == INDEX_VAR && ctx->index_attno != NULL)
	{
		if (v->varattno < 1 || v->varattno > ctx->n_index)
			return 0;
		attno = ctx->index_attno[v->varattno - 1];
	}
	else if (v->varno == ctx->varno)
		attno = v->varattno;
	else
		return 0;
	if (attno < 1 || attno > ctx->table->natts ||
		ctx->table->cols[attno - 1].kind == VSFD_COL_DROPPED)
		return 0;
	return attno;
}

static bool
vsfd_has_own_var(Node *node, void *arg)
{
	VsfdContext *ctx = (VsfdContext *) arg;

	if (node == NULL)
		return false;
	if (IsA(node, Var))
	{
		Var		   *v = (Var *) node;

		return v->varlevelsup == 0 &&
			(v->varno == ctx->varno || v->varno == INDEX_VAR);
	}
	/* what cannot be evaluated once before the scan */
	if (IsA(node, SubLink) || IsA(node, SubPlan) || IsA(node, AlternativeSubPlan) ||
		IsA(node, Aggref) || IsA(node, WindowFunc) || IsA(node, GroupingFunc) ||
		IsA(node, PlaceHolderVar) || IsA(node, CurrentOfExpr))
		return true;
	return expression_tree_walker(node, vsfd_has_own_var, arg);
}

bool
vsfd_is_value(VsfdContext *ctx, Expr *expr)
{
	return expr != NULL &&
		!vsfd_has_own_var((Node *) expr, ctx) &&
		!contain_volatile_functions((Node *) expr) &&
		!expression_returns_set((Node *) expr);
}

static VsfdValueState
vsfd_value(VsfdContext *ctx, Expr *expr, Datum *value, bool *isnull, char **shown)
{
	if (ctx->value_fn == NULL)
		return VSFD_VALUE_UNKNOWN;
	return ctx->value_fn(expr, ctx->value_arg, value, isnull, shown);
}

/* The operator as a comparison of the column's btree family, or NONE. */
static VsfdOp
vsfd_op_of(const VsfdColumn *col, Oid opno, Oid *righttype)
{
	int			strategy;
	Oid			lefttype;
	Oid			negator;

	if (!OidIsValid(col->family) || !OidIsValid(opno))
		return VSFD_OP_NONE;
	if (op_in_opfamily(opno, col->family))
	{
		get_op_opfamily_properties(opno, col->family, false, &strategy,
								   &lefttype, righttype);
		switch (strategy)
		{
			case BTLessStrategyNumber:
				return VSFD_OP_LT;
			case BTLessEqualStrategyNumber:
				return VSFD_OP_LE;
			case BTEqualStrategyNumber:
				return VSFD_OP_EQ;
			case BTGreaterEqualStrategyNumber:
				return VSFD_OP_GE;
			case BTGreaterStrategyNumber:
				return VSFD_OP_GT;
		}
		return VSFD_OP_NONE;
	}
	/* <> is no member of a btree family: it is the negator of = */
	negator = get_negator(opno);
	if (OidIsValid(negator) && op_in_opfamily(negator, col->family))
	{
		get_op_opfamily_properties(negator, col->family, false, &strategy,
								   &lefttype, righttype);
		if (strategy == BTEqualStrategyNumber)
			return VSFD_OP_NE;
	}
	return VSFD_OP_NONE;
}

/* Can a value of this type be written as the column's JSON type? */
static bool
vsfd_value_type_ok(const VsfdColumn *col, Oid type)
{
	switch (col->vkind)
	{
		case VSFD_VAL_TEXT:
			return type == TEXTOID || type == NAMEOID;
		case VSFD_VAL_INT:
			return type == INT2OID || type == INT4OID || type == INT8OID;
		case VSFD_VAL_FLOAT8:
			return type == FLOAT4OID || type == FLOAT8OID;
		case VSFD_VAL_NUMERIC:
			return type == NUMERICOID;
		case VSFD_VAL_BOOL:
			return type == BOOLOID;
		case VSFD_VAL_TIMESTAMPTZ:
			return type == TIMESTAMPTZOID;
		case VSFD_VAL_FLOAT4:
			return false;		/* a float4 column rounds what it reads */
	}
	return false;
}

/* Does the API compare strings as SQL does under this collation? */
static bool
vsfd_collation_ok(const VsfdColumn *col, Oid collid, VsfdOp op)
{
	if (col->vkind != VSFD_VAL_TEXT)
		return true;
	if (!OidIsValid(collid))
		return false;
	if (op == VSFD_OP_EQ || op == VSFD_OP_NE)
		return get_collation_isdeterministic(collid);
	/* order: the API's is the bytes of UTF-8 */
	return lc_collate_is_c(collid) &&
		(GetDatabaseEncoding() == PG_UTF8 || GetDatabaseEncoding() == PG_SQL_ASCII);
}

static VsfdOp
vsfd_negate(VsfdOp op)
{
	switch (op)
	{
		case VSFD_OP_EQ:
			return VSFD_OP_NE;
		case VSFD_OP_NE:
			return VSFD_OP_EQ;
		case VSFD_OP_LT:
			return VSFD_OP_GE;
		case VSFD_OP_LE:
			return VSFD_OP_GT;
		case VSFD_OP_GT:
			return VSFD_OP_LE;
		case VSFD_OP_GE:
			return VSFD_OP_LT;
		default:
			return VSFD_OP_NONE;
	}
}

/* ---------------------------------------------------------------------
 * Numbers: what the API compares, and what a column reads
 * ---------------------------------------------------------------------
 */

/* A timestamp attribute (epoch seconds) as microseconds since 1970. */
static bool
vsfd_epoch_us(double x, int64 *us)
{
	double		scaled;

	if (!isfinite(x) || fabs(x) > 9.2e12)
		return false;
	scaled = x * 1e6;
	*us = (int64) llround(scaled);
	return true;
}

/* The shortest decimal that reads back as x, as numeric. */
static Datum
vsfd_double_numeric(double x)
{
	char		buf[DOUBLE_SHORTEST_DECIMAL_LEN];

	double_to_shortest_decimal_buf(x, buf);
	return DirectFunctionCall3(numeric_in, CStringGetDatum(buf),
							   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
}

static void
vsfd_cannot_hold(const VsfdColumn *col, double x, const char *file_id)
{
	char		buf[DOUBLE_SHORTEST_DECIMAL_LEN];

	double_to_shortest_decimal_buf(x, buf);
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("attribute \"%s\" of file \"%s\" is %s, which column \"%s\" (%s) cannot hold",
					col->key, file_id ? file_id : "?", buf, col->name,
					format_type_be(col->typid)),
			 errhint("Declare the column numeric or float8 (or timestamptz for epoch seconds within its range).")));
}

Datum
vsfd_number_datum(const VsfdColumn *col, double x, bool *isnull, const char *file_id)
{
	*isnull = false;
	switch (col->vkind)
	{
		case VSFD_VAL_INT:
			{
				double		lo,
							hi;

				if (col->typid == INT2OID)
					lo = PG_INT16_MIN, hi = PG_INT16_MAX;
				else if (col->typid == INT4OID)
					lo = PG_INT32_MIN, hi = PG_INT32_MAX;
				else
					lo = -9223372036854775808.0, hi = 9223372036854775807.0;
				/* hi as a double may round up to 2^63: compare strictly there */
				if (x != floor(x) || x < lo || x > hi ||
					(col->typid == INT8OID && x >= 9223372036854775808.0))
					vsfd_cannot_hold(col, x, file_id);
				if (col->typid == INT2OID)
					return Int16GetDatum((int16) x);
				if (col->typid == INT4OID)
					return Int32GetDatum((int32) x);
				return Int64GetDatum((int64) x);
			}
		case VSFD_VAL_FLOAT8:
			return Float8GetDatum(x);
		case VSFD_VAL_FLOAT4:
			if (fabs(x) > FLT_MAX)
				vsfd_cannot_hold(col, x, file_id);
			return Float4GetDatum((float4) x);
		case VSFD_VAL_NUMERIC:
			return vsfd_double_numeric(x);
		case VSFD_VAL_TIMESTAMPTZ:
			{
				int64		us;
				TimestampTz ts;

				if (!vsfd_epoch_us(x, &us) ||
					pg_sub_s64_overflow(us, VSFD_UNIX_OFFSET_US, &ts) ||
					!IS_VALID_TIMESTAMP(ts))
					vsfd_cannot_hold(col, x, file_id);
				return TimestampTzGetDatum(ts);
			}
		default:
			break;
	}
	*isnull = true;
	return (Datum) 0;
}

/*
 * A value of SQL's side as what the API compares: the double d, and how
 * SQL's value v stands to the value a column reads for d (cmp < 0: v is
 * below it, so no attribute equals v and v sits just below d).
 * inf is +1/-1 when v is above/below every attribute (infinities, NaN).
 */
static void
vsfd_number(const VsfdColumn *col, Oid type, Datum v, double *d, int *cmp, int *inf)
{
	*cmp = 0;
	*inf = 0;
	switch (type)
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
			{
				int64		c = type == INT2OID ? DatumGetInt16(v) :
					type == INT4OID ? DatumGetInt32(v) : DatumGetInt64(v);

				*d = (double) c;
				if (*d >= 9223372036854775808.0)
					*cmp = -1;
				else
				{
					int64		back = (int64) *d;

					*cmp = c < back ? -1 : (c > back ? 1 : 0);
				}
				return;
			}
		case FLOAT4OID:
		case FLOAT8OID:
			*d = type == FLOAT4OID ? (double) DatumGetFloat4(v) : DatumGetFloat8(v);
			if (isnan(*d))
				*inf = 1;		/* NaN sorts above every number in SQL */
			else if (isinf(*d))
				*inf = *d > 0 ? 1 : -1;
			return;
		case NUMERICOID:
			{
				Numeric		n = DatumGetNumeric(v);
				char	   *s;

				if (numeric_is_nan(n))
				{
					*inf = 1;
					return;
				}
				if (numeric_is_inf(n))
				{
					*inf = DatumGetInt32(DirectFunctionCall2(numeric_cmp, v,
															 NumericGetDatum(int64_to_numeric(0)))) > 0 ? 1 : -1;
					return;
				}
				s = DatumGetCString(DirectFunctionCall1(numeric_out, v));
				*d = strtod(s, NULL);
				if (isinf(*d))
				{
					*inf = *d > 0 ? 1 : -1;
					return;
				}
				*cmp = DatumGetInt32(DirectFunctionCall2(numeric_cmp, v,
														 vsfd_double_numeric(*d)));
				*cmp = *cmp < 0 ? -1 : (*cmp > 0 ? 1 : 0);
				return;
			}
		case TIMESTAMPTZOID:
			{
				TimestampTz ts = DatumGetTimestampTz(v);
				int64		us;
				int64		back;
				char		buf[64];

				if (TIMESTAMP_NOT_FINITE(ts))
				{
					*inf = TIMESTAMP_IS_NOBEGIN(ts) ? -1 : 1;
					return;
				}
				us = ts + VSFD_UNIX_OFFSET_US;
				/* the decimal a sync writes: seconds with six decimals */
				snprintf(buf, sizeof(buf), "%s" INT64_FORMAT ".%06d", us < 0 ? "-" : "",
						 (us < 0 ? -us : us) / USECS_PER_SEC,
						 (int) ((us < 0 ? -us : us) % USECS_PER_SEC));
				*d = strtod(buf, NULL);
				if (!vsfd_epoch_us(*d, &back))
					*cmp = us < 0 ? -1 : 1;
				else
					*cmp = us < back ? -1 : (us > back ? 1 : 0);
				return;
			}
	}
	elog(ERROR, "vectorstore: unexpected comparison type %u", type);
}

/* ---------------------------------------------------------------------
 * Comparisons
 * ---------------------------------------------------------------------
 */

/* One comparison a op v with v known (not null): F+ of it. */
static VsfdNode *
vsfd_compare(const VsfdColumn *col, VsfdOp op, Oid type, Datum v)
{
	double		d;
	int			cmp,
				inf;

	if (col->vkind == VSFD_VAL_TEXT)
	{
		char	   *s = type == NAMEOID ? pstrdup(NameStr(*DatumGetName(v)))
			: TextDatumGetCString(v);

		if (op == VSFD_OP_NE)
			return vsfd_pair(VSFD_OR, vsfd_cmp_node(col, "lt", vsfd_str(s)),
							 vsfd_cmp_node(col, "gt", vsfd_str(s)));
		return vsfd_cmp_node(col, vsfd_op_json[op], vsfd_str(s));
	}
	if (col->vkind == VSFD_VAL_BOOL)
	{
		bool		b = DatumGetBool(v);

		/* booleans are not ordered in the API: a <> b is a = NOT b */
		return vsfd_cmp_node(col, "eq", vsfd_bool(op == VSFD_OP_NE ? !b : b));
	}

	vsfd_number(col, type, v, &d, &cmp, &inf);
	if (inf != 0)
	{
		/* v is above (inf > 0) or below every attribute */
		switch (op)
		{
			case VSFD_OP_EQ:
				return vsfd_const_node(false);
			case VSFD_OP_NE:
				return vsfd_present(col);
			case VSFD_OP_LT:
			case VSFD_OP_LE:
				return inf > 0 ? vsfd_present(col) : vsfd_const_node(false);
			default:
				return inf > 0 ? vsfd_const_node(false) : vsfd_present(col);
		}
	}
	if (cmp != 0)
	{
		/* no attribute equals v; v lies just below (cmp < 0) or above d */
		switch (op)
		{
			case VSFD_OP_EQ:
				return vsfd_const_node(false);
			case VSFD_OP_NE:
				return vsfd_present(col);
			case VSFD_OP_LT:
			case VSFD_OP_LE:
				op = cmp < 0 ? VSFD_OP_LT : VSFD_OP_LE;
				break;
			default:
				op = cmp < 0 ? VSFD_OP_GE : VSFD_OP_GT;
				break;
		}
	}
	if (op == VSFD_OP_NE)
		return vsfd_pair(VSFD_OR, vsfd_cmp_node(col, "lt", vsfd_num(d)),
						 vsfd_cmp_node(col, "gt", vsfd_num(d)));
	return vsfd_cmp_node(col, vsfd_op_json[op], vsfd_num(d));
}

/* A comparison whose value is shown, not known (EXPLAIN). */
static VsfdNode *
vsfd_compare_shown(const VsfdColumn *col, VsfdOp op, char *shown)
{
	if (col->vkind == VSFD_VAL_BOOL && op == VSFD_OP_NE)
	{
		char	   *neg = psprintf("NOT %s", shown);

		return vsfd_cmp_node(col, "eq", vsfd_shown(neg));
	}
	if (op == VSFD_OP_NE)
		return vsfd_pair(VSFD_OR, vsfd_cmp_node(col, "lt", vsfd_shown(shown)),
						 vsfd_cmp_node(col, "gt", vsfd_shown(shown)));
	return vsfd_cmp_node(col, vsfd_op_json[op], vsfd_shown(shown));
}

/* a op v (v an expression without the table's columns) */
static VsfdNode *
vsfd_leaf(VsfdContext *ctx, const VsfdColumn *col, VsfdOp op, Oid type, Expr *valexpr)
{
	Datum		v;
	bool		isnull;
	char	   *shown = NULL;

	switch (vsfd_value(ctx, valexpr, &v, &isnull, &shown))
	{
		case VSFD_VALUE_UNKNOWN:
			return vsfd_cmp_node(col, vsfd_op_json[op], NULL);
		case VSFD_VALUE_SHOWN:
			return vsfd_compare_shown(col, op, shown);
		case VSFD_VALUE_KNOWN:
			break;
	}
	if (isnull)
		return vsfd_const_node(false);	/* NULL: neither true nor false */
	return vsfd_compare(col, op, type, v);
}

static VsfdNode *
vsfd_opexpr(VsfdContext *ctx, OpExpr *opexpr, bool positive)
{
	Expr	   *left,
			   *right,
			   *valexpr;
	AttrNumber	attno;
	Oid			opno = opexpr->opno;
	Oid			righttype;
	VsfdColumn *col;
	VsfdOp		op;

	if (list_length(opexpr->args) != 2)
		return NULL;
	left = linitial(opexpr->args);
	right = lsecond(opexpr->args);
	if ((attno = vsfd_column_of(ctx, left)) != 0 && vsfd_is_value(ctx, right))
		valexpr = right;
	else if ((attno = vsfd_column_of(ctx, right)) != 0 && vsfd_is_value(ctx, left))
	{
		valexpr = left;
		opno = get_commutator(opno);
		if (!OidIsValid(opno))
			return NULL;
	}
	else
		return NULL;
	col = &ctx->table->cols[attno - 1];
	if (col->kind != VSFD_COL_ATTRIBUTE || col->typmod != -1)
		return NULL;
	op = vsfd_op_of(col, opno, &righttype);
	if (op == VSFD_OP_NONE || !vsfd_value_type_ok(col, exprType((Node *) valexpr)))
		return NULL;
	if (col->vkind == VSFD_VAL_BOOL && op != VSFD_OP_EQ && op != VSFD_OP_NE)
		return NULL;			/* booleans are not ordered in the API */
	if (!positive)
		op = vsfd_negate(op);
	if (!vsfd_collation_ok(col, opexpr->inputcollid, op))
		return NULL;
	return vsfd_leaf(ctx, col, op, exprType((Node *) valexpr), valexpr);
}

/*
 * a = ANY(array) / a <> ALL(array): F+ of IN is F- of NOT IN and the other
 * way round (see the file header), so both come down to two shapes:
 * member(a) = in [...] and nonmember(a) = and(nin [...], present(a)).
 */
static VsfdNode *
vsfd_member(const VsfdColumn *col, Oid elemtype, Datum *elems, int n, bool member)
{
	VsfdJsonValue *vals = palloc0(sizeof(VsfdJsonValue) * Max(n, 1));
	int			k = 0;
	VsfdNode   *node;

	if (col->vkind == VSFD_VAL_BOOL)
	{
		/* a boolean attribute is in no "in" array: write eq's instead */
		bool		has[2] = {false, false};
		List	   *alts = NIL;

		for (int i = 0; i < n; i++)
			has[DatumGetBool(elems[i]) ? 1 : 0] = true;
		for (int b = 0; b < 2; b++)
			if (has[b] == member)
				alts = lappend(alts, vsfd_cmp_node(col, "eq", vsfd_bool(b == 1)));
		return vsfd_combine(VSFD_OR, alts);
	}
	for (int i = 0; i < n; i++)
	{
		if (col->vkind == VSFD_VAL_TEXT)
		{
			vals[k].kind = 's';
			vals[k].str = elemtype == NAMEOID ? pstrdup(NameStr(*DatumGetName(elems[i])))
				: TextDatumGetCString(elems[i]);
			k++;
		}
		else
		{
			double		d;
			int			cmp,
						inf;

			vsfd_number(col, elemtype, elems[i], &d, &cmp, &inf);
			if (inf != 0 || cmp != 0)
				continue;		/* no attribute equals it */
			vals[k].kind = 'n';
			vals[k].num = d;
			k++;
		}
	}
	if (k == 0)
		return member ? vsfd_const_node(false) : vsfd_present(col);
	node = vsfd_cmp_node(col, member ? "in" : "nin", NULL);
	node->values = vals;
	node->nvalues = k;
	return member ? node : vsfd_pair(VSFD_AND, node, vsfd_present(col));
}

static VsfdNode *
vsfd_array(VsfdContext *ctx, ScalarArrayOpExpr *sa, bool positive)
{
	Expr	   *arrexpr;
	AttrNumber	attno;
	VsfdColumn *col;
	VsfdOp		op;
	Oid			righttype;
	Oid			elemtype;
	bool		in;				/* a = ANY (in), else a <> ALL (not in) */
	bool		member;			/* the filter is membership, else its negation */
	Datum		arr;
	bool		isnull;
	char	   *shown = NULL;
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int16		typlen;
	bool		typbyval;
	char		typalign;
	bool		has_null = false;
	int			k = 0;

	if (list_length(sa->args) != 2)
		return NULL;
	attno = vsfd_column_of(ctx, linitial(sa->args));
	arrexpr = lsecond(sa->args);
	if (attno == 0 || !vsfd_is_value(ctx, arrexpr))
		return NULL;
	col = &ctx->table->cols[attno - 1];
	if (col->kind != VSFD_COL_ATTRIBUTE || col->typmod != -1)
		return NULL;
	op = vsfd_op_of(col, sa->opno, &righttype);
	if (op == VSFD_OP_EQ && sa->useOr)
		in = true;
	else if (op == VSFD_OP_NE && !sa->useOr)
		in = false;
	else
		return NULL;
	elemtype = get_element_type(exprType((Node *) arrexpr));
	if (!vsfd_value_type_ok(col, elemtype) ||
		!vsfd_collation_ok(col, sa->inputcollid, VSFD_OP_EQ))
		return NULL;
	member = (in == positive);

	switch (vsfd_value(ctx, arrexpr, &arr, &isnull, &shown))
	{
		case VSFD_VALUE_UNKNOWN:
			return vsfd_cmp_node(col, "in", NULL);
		case VSFD_VALUE_SHOWN:
			{
				VsfdNode   *node;

				node = vsfd_cmp_node(col, member ? "in" : "nin", vsfd_shown(shown));
				return member ? node : vsfd_pair(VSFD_AND, node, vsfd_present(col));
			}
		case VSFD_VALUE_KNOWN:
			break;
	}
	if (isnull)
		return vsfd_const_node(false);	/* a = ANY(NULL) is NULL */
	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	deconstruct_array(DatumGetArrayTypeP(arr), elemtype, typlen, typbyval, typalign,
					  &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			has_null = true;
		else
			elems[k++] = elems[i];
	}
	if (n == 0)
		return vsfd_const_node(!member);	/* IN () is false, NOT IN () true, for every row */
	if (has_null && !member)
		return vsfd_const_node(false);	/* a NULL in the list: never the other answer */
	return vsfd_member(col, elemtype, elems, k, member);
}

/* a IS [NOT] NULL */
static VsfdNode *
vsfd_nulltest(VsfdContext *ctx, NullTest *nt, bool positive)
{
	AttrNumber	attno = vsfd_column_of(ctx, nt->arg);
	VsfdColumn *col;

	if (attno == 0 || nt->argisrow)
		return NULL;
	col = &ctx->table->cols[attno - 1];
	if (col->kind != VSFD_COL_ATTRIBUTE)
		return NULL;
	/* only "is present" can be written: IS NOT NULL, or NOT (IS NULL) */
	if ((nt->nulltesttype == IS_NOT_NULL) == positive)
		return vsfd_present(col);
	return NULL;
}

/* a IS [NOT] TRUE / FALSE / UNKNOWN on a boolean attribute (never NULL itself) */
static VsfdNode *
vsfd_booltest(VsfdContext *ctx, BooleanTest *bt, bool positive)
{
	AttrNumber	attno = vsfd_column_of(ctx, bt->arg);
	VsfdColumn *col;
	BoolTestType t = bt->booltesttype;

	if (attno == 0)
		return NULL;
	col = &ctx->table->cols[attno - 1];
	if (col->kind != VSFD_COL_ATTRIBUTE || col->vkind != VSFD_VAL_BOOL || col->typmod != -1)
		return NULL;
	if (!positive)
	{
		/* a test is never NULL: its FALSE is the complementary test's TRUE */
		switch (t)
		{
			case IS_TRUE:
				t = IS_NOT_TRUE;
				break;
			case IS_NOT_TRUE:
				t = IS_TRUE;
				break;
			case IS_FALSE:
				t = IS_NOT_FALSE;
				break;
			case IS_NOT_FALSE:
				t = IS_FALSE;
				break;
			case IS_UNKNOWN:
				t = IS_NOT_UNKNOWN;
				break;
			case IS_NOT_UNKNOWN:
				t = IS_UNKNOWN;
				break;
		}
	}
	switch (t)
	{
		case IS_TRUE:
			return vsfd_cmp_node(col, "eq", vsfd_bool(true));
		case IS_FALSE:
			return vsfd_cmp_node(col, "eq", vsfd_bool(false));
		case IS_NOT_UNKNOWN:
			return vsfd_present(col);
		default:
			return NULL;		/* true where the attribute is missing */
	}
}

/* F+ (positive) or F- of expr, or NULL when it cannot be written exactly */
static VsfdNode *
vsfd_walk(VsfdContext *ctx, Expr *expr, bool positive)
{
	check_stack_depth();

	if (expr == NULL)
		return NULL;
	switch (nodeTag(expr))
	{
		case T_BoolExpr:
			{
				BoolExpr   *b = (BoolExpr *) expr;
				List	   *children = NIL;
				ListCell   *lc;
				VsfdNodeKind kind;

				if (b->boolop == NOT_EXPR)
					return vsfd_walk(ctx, linitial(b->args), !positive);
				/* F-(a AND b) = F-(a) OR F-(b), and the other way round */
				kind = (b->boolop == AND_EXPR) == positive ? VSFD_AND : VSFD_OR;
				foreach(lc, b->args)
				{
					VsfdNode   *c = vsfd_walk(ctx, lfirst(lc), positive);

					if (c == NULL)
						return NULL;
					children = lappend(children, c);
				}
				return vsfd_combine(kind, children);
			}
		case T_OpExpr:
			return vsfd_opexpr(ctx, (OpExpr *) expr, positive);
		case T_ScalarArrayOpExpr:
			return vsfd_array(ctx, (ScalarArrayOpExpr *) expr, positive);
		case T_NullTest:
			return vsfd_nulltest(ctx, (NullTest *) expr, positive);
		case T_BooleanTest:
			return vsfd_booltest(ctx, (BooleanTest *) expr, positive);
		case T_Const:
			{
				Const	   *c = (Const *) expr;

				if (c->consttype != BOOLOID)
					return NULL;
				if (c->constisnull)
					return vsfd_const_node(false);
				return vsfd_const_node(DatumGetBool(c->constvalue) == positive);
			}
		case T_Var:
		case T_RelabelType:
			{
				/* a boolean attribute alone: a = true */
				AttrNumber	attno = vsfd_column_of(ctx, expr);
				VsfdColumn *col;

				if (attno == 0)
					return NULL;
				col = &ctx->table->cols[attno - 1];
				if (col->kind != VSFD_COL_ATTRIBUTE || col->vkind != VSFD_VAL_BOOL ||
					col->typmod != -1)
					return NULL;
				return vsfd_cmp_node(col, "eq", vsfd_bool(positive));
			}
		default:
			return NULL;
	}
}

VsfdNode *
vsfd_translate(VsfdContext *ctx, Expr *clause)
{
	return vsfd_walk(ctx, clause, true);
}

VsfdNode *
vsfd_translate_list(VsfdContext *ctx, List *clauses)
{
	List	   *children = NIL;
	ListCell   *lc;

	foreach(lc, clauses)
	{
		VsfdNode   *c = vsfd_translate(ctx, (Expr *) lfirst(lc));

		if (c == NULL)
			return NULL;
		children = lappend(children, c);
	}
	return vsfd_combine(VSFD_AND, children);
}

/* ---------------------------------------------------------------------
 * Writing a filter out: JSON for the API, text for EXPLAIN
 * ---------------------------------------------------------------------
 */
static void
vsfd_oom(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_OUT_OF_MEMORY),
			 errmsg("out of memory building JSON")));
}

/*
 * A number as JSON text that reads back as exactly this double. cJSON's own
 * printing does not promise that: it keeps 15 digits whenever they read
 * back within a relative epsilon, so 9007199254740992 would go out as
 * 9007199254740990 and 0.30000000000000004 as 0.3, and the filter would
 * compare with another number than the one decided here.
 */
static cJSON *
vsfd_json_number(double d)
{
	char		buf[DOUBLE_SHORTEST_DECIMAL_LEN];

	double_to_shortest_decimal_buf(d, buf);
	return cJSON_CreateRaw(buf);
}

/* obj.key = d, written exactly */
void
vsfd_add_number(cJSON *obj, const char *key, double d)
{
	cJSON	   *num = vsfd_json_number(d);

	if (num == NULL)
		vsfd_oom();
	if (!cJSON_AddItemToObject(obj, key, num))
	{
		cJSON_Delete(num);
		vsfd_oom();
	}
}

static void
vsfd_array_add(cJSON *arr, const VsfdJsonValue *v)
{
	cJSON	   *item;

	if (v->kind == 's')
		item = cJSON_CreateString(pg_server_to_any(v->str, strlen(v->str), PG_UTF8));
	else
		item = vsfd_json_number(v->num);
	if (item == NULL)
		vsfd_oom();
	if (!cJSON_AddItemToArray(arr, item))
	{
		cJSON_Delete(item);
		vsfd_oom();
	}
}

cJSON *
vsfd_node_json(const VsfdNode *node)
{
	cJSON	   *obj = vs_json_new_object();

	switch (node->kind)
	{
		case VSFD_AND:
		case VSFD_OR:
			{
				cJSON	   *arr = vs_json_new_array();
				ListCell   *lc;

				vs_json_add_string(obj, "type", node->kind == VSFD_AND ? "and" : "or");
				foreach(lc, node->children)
					vs_json_add_ref(arr, NULL, vsfd_node_json(lfirst(lc)));
				vs_json_add_ref(obj, "filters", arr);
				break;
			}
		case VSFD_CMP:
			vs_json_add_string(obj, "type", node->op);
			vs_json_add_string(obj, "key", node->key);
			if (node->values != NULL)
			{
				cJSON	   *arr = vs_json_new_array();

				for (int i = 0; i < node->nvalues; i++)
					vsfd_array_add(arr, &node->values[i]);
				vs_json_add_ref(obj, "value", arr);
			}
			else if (node->value == NULL || node->value->kind == 'x')
				elog(ERROR, "vectorstore: a filter to send holds an unknown value");
			else if (node->value->kind == 's')
				vs_json_add_string(obj, "value", node->value->str);
			else if (node->value->kind == 'n')
				vsfd_add_number(obj, "value", node->value->num);
			else
				vs_json_add_bool(obj, "value", node->value->b);
			break;
		default:
			elog(ERROR, "vectorstore: a constant filter cannot be sent");
	}
	return obj;
}

static void
vsfd_value_text(StringInfo buf, const VsfdJsonValue *v)
{
	char		num[DOUBLE_SHORTEST_DECIMAL_LEN];

	switch (v->kind)
	{
		case 's':
			escape_json(buf, v->str);
			break;
		case 'n':
			double_to_shortest_decimal_buf(v->num, num);
			appendStringInfoString(buf, num);
			break;
		case 'b':
			appendStringInfoString(buf, v->b ? "true" : "false");
			break;
		default:
			appendStringInfoString(buf, v->str);
			break;
	}
}

void
vsfd_node_text(StringInfo buf, const VsfdNode *node)
{
	switch (node->kind)
	{
		case VSFD_TRUE:
			appendStringInfoString(buf, "true");
			break;
		case VSFD_FALSE:
			appendStringInfoString(buf, "false");
			break;
		case VSFD_AND:
		case VSFD_OR:
			{
				ListCell   *lc;

				appendStringInfo(buf, "{\"type\": \"%s\", \"filters\": [",
								 node->kind == VSFD_AND ? "and" : "or");
				foreach(lc, node->children)
				{
					if (lc != list_head(node->children))
						appendStringInfoString(buf, ", ");
					vsfd_node_text(buf, lfirst(lc));
				}
				appendStringInfoString(buf, "]}");
				break;
			}
		case VSFD_CMP:
			appendStringInfo(buf, "{\"type\": \"%s\", \"key\": ", node->op);
			escape_json(buf, node->key);
			appendStringInfoString(buf, ", \"value\": ");
			if (node->values != NULL)
			{
				appendStringInfoChar(buf, '[');
				for (int i = 0; i < node->nvalues; i++)
				{
					if (i > 0)
						appendStringInfoString(buf, ", ");
					vsfd_value_text(buf, &node->values[i]);
				}
				appendStringInfoChar(buf, ']');
			}
			else if (node->value != NULL)
				vsfd_value_text(buf, node->value);
			else
				appendStringInfoChar(buf, '?');
			appendStringInfoChar(buf, '}');
			break;
	}
}
