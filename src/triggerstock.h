/*
 * triggerstock.h
 *	  Declarations shared by the module entry (triggerstock.c) and the
 *	  background workers: the launcher's registration and the entry points
 *	  of the static workers.  The GUC variables are in guc.h.
 *
 * Invariants: a worker entry point is PGDLLEXPORT (the library is built
 * with -fvisibility=hidden and the postmaster looks it up by name).
 */
#ifndef TRIGGERSTOCK_H
#define TRIGGERSTOCK_H

#include "postgres.h"

/* Registers the static supervisor (which runs the launcher); preload only. */
extern void tsk_register_launcher(void);

/* Background worker entry points (must be exported for the postmaster). */
extern PGDLLEXPORT void triggerstock_launcher_main(Datum main_arg);
extern PGDLLEXPORT void triggerstock_supervisor_main(Datum main_arg);
extern PGDLLEXPORT void triggerstock_predictor_main(Datum main_arg);

#endif							/* TRIGGERSTOCK_H */
