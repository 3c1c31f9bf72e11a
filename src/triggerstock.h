/*
 * triggerstock.h
 *	  Declarations shared by the extension's Postgres-facing files: the
 *	  GUC variables defined in triggerstock.c and the worker entry points.
 */
#ifndef TRIGGERSTOCK_H
#define TRIGGERSTOCK_H

#include "postgres.h"

/* GUC variables (see triggerstock.c for their documentation). */

/* Registers the static supervisor (which runs the launcher); preload only. */
extern void tsk_register_launcher(void);

/* Background worker entry points (must be exported for the postmaster). */
extern PGDLLEXPORT void triggerstock_launcher_main(Datum main_arg);
extern PGDLLEXPORT void triggerstock_supervisor_main(Datum main_arg);
extern PGDLLEXPORT void triggerstock_predictor_main(Datum main_arg);


#endif							/* TRIGGERSTOCK_H */
