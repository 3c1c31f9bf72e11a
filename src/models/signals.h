/*
 * signals.h
 *	  The predictor's hook into the signal rules (signals.c).
 */
#ifndef TRIGGERSTOCK_SIGNALS_H
#define TRIGGERSTOCK_SIGNALS_H

#include "postgres.h"

#include "datatype/timestamp.h"

/*
 * Decide on the prediction row (symbol, width, horizon, target, bucket) the
 * caller has just inserted with each enabled signal rule of its symbol and
 * target: signals rows and their NOTIFY, in the caller's (sub)transaction.
 * SPI connected; ext is the extension's schema, quoted.  A database without
 * triggerstock.signals (0.1 not yet updated) records nothing.
 */
extern void tsk_signals_record(const char *ext, const char *symbol, const Interval *width,
							   int32 horizon, int target, TimestampTz bucket);

#endif							/* TRIGGERSTOCK_SIGNALS_H */
