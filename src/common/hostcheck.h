/*
 * hostcheck.h
 *	  Where the workers may connect: triggerstock.allowed_hosts, parsed into
 *	  a flat policy, and the checks of a host name (before connecting, and
 *	  for every redirect) and of the address a connection goes to (after
 *	  name resolution, so a name that resolves to an internal address is
 *	  caught too).
 *
 * The list: comma-separated entries, each a host name (case-insensitive),
 * "*.domain" (any name below domain), an IP address or a CIDR range
 * (10.0.0.0/8, fd00::/8).  Empty: any host.  Loopback, link-local and
 * unspecified addresses (127.0.0.0/8, ::1, 169.254.0.0/16, fe80::/10,
 * 0.0.0.0, ::) are refused unless an address or range entry contains them
 * (a listed name that resolves to one is still refused: DNS is not trusted
 * to point inside).  With a
 * non-empty list, a destination is allowed when its name matches a name
 * entry or its address matches an address entry.
 *
 * Invariants: plain C, no Postgres headers, no allocation after parsing
 * (safe inside libcurl and libwebsockets callbacks); the policy is one flat
 * block (a GUC "extra", freed with free()).
 */
#ifndef TSK_HOSTCHECK_H
#define TSK_HOSTCHECK_H

#include <stdbool.h>
#include <stddef.h>

#include <sys/socket.h>

#define TSK_HOST_MAX_RULES 64
#define TSK_HOST_NAME_MAX 253

typedef struct tsk_host_rule
{
	char		name[TSK_HOST_NAME_MAX + 1];	/* lower case; "" for an address rule */
	bool		wildcard;		/* "*.name": names below name */
	int			family;			/* AF_INET or AF_INET6 for an address rule */
	unsigned char addr[16];
	int			prefix;			/* bits */
} tsk_host_rule;

typedef struct tsk_host_policy
{
	int			nrules;
	tsk_host_rule rules[TSK_HOST_MAX_RULES];
} tsk_host_policy;

/* Parse a list into *p: 0, or -1 with a message in err. */
extern int	tsk_host_policy_parse(const char *spec, tsk_host_policy *p, char *err, size_t errlen);

/*
 * May the workers connect to host (a name or an address literal, as in the
 * URL)?  False with the reason in why.  A NULL policy allows any host.
 */
extern bool tsk_host_name_allowed(const tsk_host_policy *p, const char *host, char *why, size_t whylen);

/*
 * May a connection to host go to address sa (what the name resolved to)?
 * False with the reason in why.  A NULL policy refuses only loopback,
 * link-local and unspecified addresses.
 */
extern bool tsk_host_addr_allowed(const tsk_host_policy *p, const char *host, const struct sockaddr *sa,
								  char *why, size_t whylen);

/* The host of a URL (brackets of an IPv6 literal removed): false if none. */
extern bool tsk_url_host(const char *url, char *host, size_t hostsz);

#endif							/* TSK_HOSTCHECK_H */
