/*
 * schema.h
 *	  Where the extension's objects live, and the search_path every SQL
 *	  statement of the extension runs under.
 *
 * Invariants:
 *	- the extension's schema is found by one catalog lookup (pg_extension
 *	  by name, its extnamespace), never through SPI or a search_path;
 *	- background workers keep search_path = TSK_SAFE_SEARCH_PATH for their
 *	  whole life (tsk_search_path_pin_for_life, right after connecting);
 *	  fmgr functions that run SQL of their own wrap it in
 *	  tsk_search_path_push/pop, so that no function, operator, type or
 *	  collation of a schema writable by others (such as public) can be
 *	  picked up by an unqualified name;
 *	- the statements themselves schema-qualify every function and table
 *	  anyway (pg_catalog., triggerstock., the extension's schema), so a
 *	  statement stays safe if it is ever run without the pin.
 */
#ifndef TSK_SCHEMA_H
#define TSK_SCHEMA_H

#include "postgres.h"

/* The only search_path under which the extension runs SQL. */
#define TSK_SAFE_SEARCH_PATH "pg_catalog, pg_temp"

/* The extension's schema, or InvalidOid when it is not installed here. */
extern Oid	tsk_extension_namespace(void);

/* Its name quoted for SQL (palloc'd), or NULL when not installed. */
extern char *tsk_extension_schema(void);

/* Background workers: search_path = TSK_SAFE_SEARCH_PATH until exit. */
extern void tsk_search_path_pin_for_life(void);

/* fmgr functions: search_path = TSK_SAFE_SEARCH_PATH until the pop. */
extern int	tsk_search_path_push(void);
extern int	tsk_search_path_push_value(const char *path);
extern void tsk_search_path_pop(int nest_level);

/*
 * SPI_connect with search_path = TSK_SAFE_SEARCH_PATH; returns the level
 * to give tsk_spi_finish, which restores the caller's search_path.
 */
extern int	tsk_spi_connect(void);
extern void tsk_spi_finish(int nest_level);

#endif							/* TSK_SCHEMA_H */
