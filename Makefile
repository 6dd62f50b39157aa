# Makefile for the vectorstore extension (PGXS) and its local server.
#
#   make                 build the extension and emulator/vectorstore-emulator
#   make install         install the extension into the PostgreSQL of PG_CONFIG
#   make installcheck    pg_regress suites (sql/, expected/) against a running server,
#                        their requests sent only to a local server it starts
#   make prove           TAP suites (test/t/), each starting its own clusters
#
# The version lives here only: EXTVERSION. The install script is assembled
# from sql/install/*.sql (one part per module) into vectorstore--$(EXTVERSION).sql,
# and the upgrade script from the previous release from sql/upgrade/*.sql into
# vectorstore--$(PREVVERSION)--$(EXTVERSION).sql. Released scripts are kept,
# byte for byte as they shipped, in sql/versions/ (doc/releasing.md), which
# is also why neither directory is a regression suite: only sql/*.sql are.

EXTENSION = vectorstore
EXTVERSION = 0.2.0
PREVVERSION = 0.1.0

MODULE_big = vectorstore
OBJS = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))

DATA_built = $(EXTENSION)--$(EXTVERSION).sql $(EXTENSION)--$(PREVVERSION)--$(EXTVERSION).sql
DATA = $(wildcard sql/versions/$(EXTENSION)--*.sql) $(wildcard sql/versions/$(EXTENSION)--*.control)

# Regression suites: every sql/*.sql (not sql/install/, sql/upgrade/,
# sql/versions/ or sql/include/). `make installcheck` is ours, not PGXS's:
# test/installcheck.sh starts the local server and points the suites at it,
# so they never send a request to the server's configured API. Choose
# suites with VS_REGRESS="00_setup 10_stores".
VS_REGRESS ?= $(patsubst sql/%.sql,%,$(sort $(wildcard sql/*.sql)))
EXTRA_CLEAN = results regression.diffs regression.out

# TAP suites run with `make prove` (not part of installcheck, which the
# harness runs against its own cluster and emulator).
PROVE_TESTS ?= $(sort $(wildcard test/t/*.pl))

# -Wall -Wextra -Werror; the four -Wno-* silence what PostgreSQL's own headers
# and fmgr conventions trigger under -Wextra (unused fcinfo, {0} initializers,
# signed/unsigned compares in macros, function-pointer casts).
PG_CPPFLAGS = -DVS_VERSION='"$(EXTVERSION)"' -Wall -Wextra -Werror \
	-Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare \
	-Wno-cast-function-type
SHLIB_LINK = -lcurl -lcjson

# No JIT bitcode: nothing here benefits from inlining into JIT-compiled
# expressions, and it would make clang a build dependency.
override with_llvm = no

# Rebuild every object whose headers changed (PGXS tracks only .c files
# unless the server was configured with --enable-depend): a struct that
# grows in vectorstore.h must not leave stale objects using the old size.
override autodepend = yes

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

$(EXTENSION)--$(EXTVERSION).sql: $(sort $(wildcard sql/install/*.sql))
	cat $^ > $@

$(EXTENSION)--$(PREVVERSION)--$(EXTVERSION).sql: $(sort $(wildcard sql/upgrade/*.sql))
	cat $^ > $@

all: emulator

.PHONY: installcheck
installcheck: all
	PG_CONFIG='$(PG_CONFIG)' bash test/installcheck.sh $(VS_REGRESS)

.PHONY: emulator
emulator:
	$(MAKE) -C emulator

clean: clean-emulator
.PHONY: clean-emulator
clean-emulator:
	-$(MAKE) -C emulator clean

.PHONY: prove prove-only
prove:
	rm -rf $(CURDIR)/tmp_check && mkdir -p $(CURDIR)/tmp_check
	$(MAKE) -s prove-only

# the same without emptying tmp_check first (test/run.sh runs two at once)
prove-only:
	mkdir -p $(CURDIR)/tmp_check
	TESTDIR='$(CURDIR)' PATH="$(bindir):$$PATH" \
	PG_REGRESS='$(pgxsdir)/src/test/regress/pg_regress' \
	$(PROVE) -I '$(pgxsdir)/src/test/perl' -I '$(CURDIR)/test/perl' $(PROVE_FLAGS) $(PROVE_TESTS)
