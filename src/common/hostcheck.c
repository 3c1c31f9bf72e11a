/*
 * hostcheck.c
 *	  triggerstock.allowed_hosts: parsing and checks (see hostcheck.h).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hostcheck.h"

/*
 * host_lower
 *	  Copy s (n bytes) in lower case into out (outsz); false if too long.
 */
static bool
host_lower(const char *s, size_t n, char *out, size_t outsz)
{
	if (n >= outsz)
		return false;
	for (size_t i = 0; i < n; i++)
		out[i] = (char) tolower((unsigned char) s[i]);
	out[n] = '\0';
	return true;
}

/*
 * host_parse_addr
 *	  An IPv4 or IPv6 literal into family/addr; false if it is none.
 */
static bool
host_parse_addr(const char *s, int *family, unsigned char *addr)
{
	if (inet_pton(AF_INET, s, addr) == 1)
	{
		*family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, s, addr) == 1)
	{
		*family = AF_INET6;
		return true;
	}
	return false;
}

/*
 * tsk_host_policy_parse
 *	  See hostcheck.h.
 */
int
tsk_host_policy_parse(const char *spec, tsk_host_policy *p, char *err, size_t errlen)
{
	const char *s = spec ? spec : "";

	memset(p, 0, sizeof(*p));
	while (*s)
	{
		size_t		n;
		char		entry[TSK_HOST_NAME_MAX + 8];
		tsk_host_rule *r;
		char	   *slash;

		while (*s == ',' || isspace((unsigned char) *s))
			s++;
		if (*s == '\0')
			break;
		n = strcspn(s, ",");
		while (n > 0 && isspace((unsigned char) s[n - 1]))
			n--;
		if (!host_lower(s, n, entry, sizeof(entry)))
		{
			snprintf(err, errlen, "entry \"%.40s...\" is longer than %d bytes", s, TSK_HOST_NAME_MAX);
			return -1;
		}
		s += strcspn(s, ",");
		if (p->nrules == TSK_HOST_MAX_RULES)
		{
			snprintf(err, errlen, "more than %d entries", TSK_HOST_MAX_RULES);
			return -1;
		}
		r = &p->rules[p->nrules];
		if ((slash = strchr(entry, '/')) != NULL)
		{
			char	   *end;
			long		bits;

			*slash = '\0';
			bits = strtol(slash + 1, &end, 10);
			if (!host_parse_addr(entry, &r->family, r->addr) || *end != '\0' || slash[1] == '\0' ||
				bits < 0 || bits > (r->family == AF_INET ? 32 : 128))
			{
				snprintf(err, errlen, "\"%s/%s\" is not an address range such as 10.0.0.0/8",
						 entry, slash + 1);
				return -1;
			}
			r->prefix = (int) bits;
		}
		else if (host_parse_addr(entry, &r->family, r->addr))
			r->prefix = r->family == AF_INET ? 32 : 128;
		else
		{
			const char *name = entry;

			if (strncmp(entry, "*.", 2) == 0)
			{
				r->wildcard = true;
				name += 2;
			}
			if (name[0] == '\0' || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789.-") != strlen(name))
			{
				snprintf(err, errlen, "\"%s\" is not a host name, *.domain, address or range", entry);
				return -1;
			}
			strcpy(r->name, name);	/* fits: entry did */
		}
		p->nrules++;
	}
	return 0;
}

/*
 * host_name_match
 *	  Does rule r (a name rule) match host (lower case)?
 */
static bool
host_name_match(const tsk_host_rule *r, const char *host)
{
	size_t		hl = strlen(host),
				nl = strlen(r->name);

	if (r->name[0] == '\0')
		return false;
	if (!r->wildcard)
		return strcmp(host, r->name) == 0;
	return hl > nl + 1 && host[hl - nl - 1] == '.' && strcmp(host + hl - nl, r->name) == 0;
}

/*
 * host_addr_match
 *	  Does rule r (an address rule) contain address (family, addr)?
 */
static bool
host_addr_match(const tsk_host_rule *r, int family, const unsigned char *addr)
{
	int			bits = r->prefix;

	if (r->name[0] != '\0' || r->family != family)
		return false;
	for (int i = 0; bits > 0; i++, bits -= 8)
	{
		unsigned char mask = bits >= 8 ? 0xff : (unsigned char) (0xff << (8 - bits));

		if ((addr[i] & mask) != (r->addr[i] & mask))
			return false;
	}
	return true;
}

/*
 * host_special
 *	  Loopback, link-local or unspecified: refused unless listed.
 */
static const char *
host_special(int family, const unsigned char *a)
{
	static const unsigned char zero[16] = {0};

	if (family == AF_INET)
	{
		if (a[0] == 127)
			return "loopback";
		if (a[0] == 169 && a[1] == 254)
			return "link-local";
		if (a[0] == 0)
			return "unspecified";
		return NULL;
	}
	if (memcmp(a, zero, 15) == 0 && a[15] == 1)
		return "loopback";
	if (memcmp(a, zero, 16) == 0)
		return "unspecified";
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
		return "link-local";
	/* IPv4-mapped ::ffff:a.b.c.d */
	if (memcmp(a, zero, 10) == 0 && a[10] == 0xff && a[11] == 0xff)
		return host_special(AF_INET, a + 12);
	return NULL;
}

/*
 * tsk_host_name_allowed
 *	  See hostcheck.h.
 */
bool
tsk_host_name_allowed(const tsk_host_policy *p, const char *host, char *why, size_t whylen)
{
	char		h[TSK_HOST_NAME_MAX + 1];
	unsigned char addr[16];
	int			family;

	if (!host_lower(host, strlen(host), h, sizeof(h)))
	{
		snprintf(why, whylen, "host name longer than %d bytes", TSK_HOST_NAME_MAX);
		return false;
	}
	if (p == NULL || p->nrules == 0)
		return true;
	if (host_parse_addr(h, &family, addr))
	{
		for (int i = 0; i < p->nrules; i++)
			if (host_addr_match(&p->rules[i], family, addr))
				return true;
	}
	else
	{
		for (int i = 0; i < p->nrules; i++)
			if (host_name_match(&p->rules[i], h))
				return true;
	}
	snprintf(why, whylen, "host \"%s\" is not in triggerstock.allowed_hosts", h);
	return false;
}

/*
 * tsk_host_addr_allowed
 *	  See hostcheck.h.
 */
bool
tsk_host_addr_allowed(const tsk_host_policy *p, const char *host, const struct sockaddr *sa,
					  char *why, size_t whylen)
{
	char		h[TSK_HOST_NAME_MAX + 1];
	char		shown[64];
	unsigned char addr[16];
	int			family = sa->sa_family;
	const char *special;
	bool		name_listed = false,
				addr_listed = false;

	memset(addr, 0, sizeof(addr));
	if (family == AF_INET)
		memcpy(addr, &((const struct sockaddr_in *) sa)->sin_addr, 4);
	else if (family == AF_INET6)
		memcpy(addr, &((const struct sockaddr_in6 *) sa)->sin6_addr, 16);
	else
	{
		snprintf(why, whylen, "address family %d is not allowed", family);
		return false;
	}
	if (inet_ntop(family, addr, shown, sizeof(shown)) == NULL)
		strcpy(shown, "?");
	if (!host_lower(host ? host : "", host ? strlen(host) : 0, h, sizeof(h)))
		h[0] = '\0';
	for (int i = 0; p != NULL && i < p->nrules; i++)
	{
		addr_listed |= host_addr_match(&p->rules[i], family, addr);
		name_listed |= host_name_match(&p->rules[i], h);
	}
	special = host_special(family, addr);
	if (special != NULL && !addr_listed)
	{
		snprintf(why, whylen, "address %s of host \"%s\" is %s; list it in triggerstock.allowed_hosts to allow it",
				 shown, h, special);
		return false;
	}
	if (p != NULL && p->nrules > 0 && !addr_listed && !name_listed)
	{
		snprintf(why, whylen, "address %s of host \"%s\" is not in triggerstock.allowed_hosts", shown, h);
		return false;
	}
	return true;
}

/*
 * tsk_url_host
 *	  See hostcheck.h.
 */
bool
tsk_url_host(const char *url, char *host, size_t hostsz)
{
	const char *s = strstr(url, "://");
	const char *end;
	size_t		n;

	if (s == NULL || hostsz == 0)
		return false;
	s += 3;
	end = s + strcspn(s, "/?#");
	for (const char *at = s; at < end; at++)
		if (*at == '@')
			s = at + 1;			/* userinfo */
	if (*s == '[')
	{
		const char *close = memchr(s, ']', (size_t) (end - s));

		if (close == NULL)
			return false;
		n = (size_t) (close - s - 1);
		s++;
	}
	else
	{
		const char *colon = memchr(s, ':', (size_t) (end - s));

		n = (size_t) ((colon ? colon : end) - s);
	}
	if (n == 0 || n >= hostsz)
		return false;
	memcpy(host, s, n);
	host[n] = '\0';
	return true;
}
