/*
 * pg_unreachable.c
 *	  Backend functions src/json.c references on paths the fuzz harnesses
 *	  never take (tuples, jsonb, detoasting, function-call info). Kept out of
 *	  pg_shim.c because their real prototypes are not needed: reaching one
 *	  aborts, so an unexpected path is a crash, never a silent pass.
 */
#include <stdio.h>
#include <stdlib.h>

#define SHIM_UNREACHABLE(name) \
	void name(void); void name(void) { fprintf(stderr, "pg_shim: %s reached\n", #name); abort(); }
SHIM_UNREACHABLE(BlessTupleDesc)
SHIM_UNREACHABLE(DirectFunctionCall1Coll)
SHIM_UNREACHABLE(HeapTupleHeaderGetDatum)
SHIM_UNREACHABLE(JsonbToCString)
SHIM_UNREACHABLE(deconstruct_array)
SHIM_UNREACHABLE(get_call_result_type)
SHIM_UNREACHABLE(heap_form_tuple)
SHIM_UNREACHABLE(jsonb_in)
SHIM_UNREACHABLE(numeric_in)
SHIM_UNREACHABLE(JsonbValueToJsonb)
SHIM_UNREACHABLE(pushJsonbValue)
SHIM_UNREACHABLE(DirectFunctionCall3Coll)
SHIM_UNREACHABLE(pg_detoast_datum)
SHIM_UNREACHABLE(pg_detoast_datum_packed)
