/*
 * test_hostcheck.c
 *	  Unit tests of triggerstock.allowed_hosts (src/common/hostcheck.c):
 *	  parsing, name and address checks, URL hosts.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "common/hostcheck.h"
#include "unit_check.h"

/*
 * addr_ok
 *	  May host connect to the address literal a under policy p?
 */
static int
addr_ok(const tsk_host_policy *p, const char *host, const char *a)
{
	struct sockaddr_in6 s6;
	struct sockaddr_in s4;
	char		why[256];

	memset(&s4, 0, sizeof(s4));
	memset(&s6, 0, sizeof(s6));
	if (inet_pton(AF_INET, a, &s4.sin_addr) == 1)
	{
		s4.sin_family = AF_INET;
		return tsk_host_addr_allowed(p, host, (struct sockaddr *) &s4, why, sizeof(why));
	}
	inet_pton(AF_INET6, a, &s6.sin6_addr);
	s6.sin6_family = AF_INET6;
	return tsk_host_addr_allowed(p, host, (struct sockaddr *) &s6, why, sizeof(why));
}

/*
 * name_ok
 *	  May the workers connect to host under policy p?
 */
static int
name_ok(const tsk_host_policy *p, const char *host)
{
	char		why[256];

	return tsk_host_name_allowed(p, host, why, sizeof(why));
}

/*
 * main
 *	  Runs every test; exit status 1 on any failure.
 */
int
main(void)
{
	static tsk_host_policy empty,
				list;
	char		err[256],
				host[256];

	check(tsk_host_policy_parse("", &empty, err, sizeof(err)) == 0 && empty.nrules == 0, "empty list");
	check(tsk_host_policy_parse(" Stream.Binance.com, *.coinbase.com ,10.0.0.0/8, ::1, 192.0.2.7", &list,
								err, sizeof(err)) == 0 && list.nrules == 5, "a list of five");
	check(tsk_host_policy_parse("10.0.0.0/33", &list, err, sizeof(err)) != 0 &&
		  strstr(err, "not an address range") != NULL, "a bad prefix");
	check(tsk_host_policy_parse("bad host!", &list, err, sizeof(err)) != 0, "a bad name");
	tsk_host_policy_parse(" Stream.Binance.com, *.coinbase.com ,10.0.0.0/8, ::1, 192.0.2.7", &list,
						  err, sizeof(err));

	/* empty: any name, any public address, no loopback or link-local */
	check(name_ok(&empty, "anything.example"), "empty: any name");
	check(addr_ok(&empty, "x.example", "93.184.216.34"), "empty: a public address");
	check(!addr_ok(&empty, "x.example", "127.0.0.1"), "empty: loopback refused");
	check(!addr_ok(&empty, "x.example", "127.255.0.9"), "empty: 127/8 refused");
	check(!addr_ok(&empty, "x.example", "169.254.169.254"), "empty: link-local refused");
	check(!addr_ok(&empty, "x.example", "::1"), "empty: ::1 refused");
	check(!addr_ok(&empty, "x.example", "fe80::1"), "empty: fe80::/10 refused");
	check(!addr_ok(&empty, "x.example", "::ffff:127.0.0.1"), "empty: mapped loopback refused");
	check(!addr_ok(&empty, "x.example", "0.0.0.0"), "empty: unspecified refused");
	check(!addr_ok(NULL, "x.example", "127.0.0.1"), "no policy: loopback refused");

	/* a list */
	check(name_ok(&list, "stream.binance.com"), "listed name, other case");
	check(name_ok(&list, "ws-feed.coinbase.com"), "wildcard below");
	check(!name_ok(&list, "coinbase.com"), "wildcard: not the domain itself");
	check(!name_ok(&list, "evilcoinbase.com"), "wildcard: a label boundary");
	check(name_ok(&list, "10.1.2.3"), "address literal in a range");
	check(!name_ok(&list, "11.1.2.3"), "address literal out of range");
	check(!name_ok(&list, "localhost"), "unlisted name");
	check(addr_ok(&list, "stream.binance.com", "93.184.216.34"), "listed name at any public address");
	check(!addr_ok(&list, "stream.binance.com", "127.0.0.1"), "listed name resolving to the loopback");
	check(addr_ok(&list, "x", "::1"), "listed loopback address");
	check(addr_ok(&list, "x", "10.200.0.1"), "address in a listed range");
	check(!addr_ok(&list, "x", "192.0.2.8"), "address next to a listed one");
	check(!addr_ok(&list, "a.coinbase.com", "169.254.1.1"), "wildcard name resolving to link-local");

	/* URL hosts */
	check(tsk_url_host("wss://stream.binance.com:9443/ws?x=1", host, sizeof(host)) &&
		  strcmp(host, "stream.binance.com") == 0, "host with port and path");
	check(tsk_url_host("http://user:pw@h.example/x", host, sizeof(host)) && strcmp(host, "h.example") == 0,
		  "userinfo dropped");
	check(tsk_url_host("http://[::1]:8080/", host, sizeof(host)) && strcmp(host, "::1") == 0, "IPv6 literal");
	check(!tsk_url_host("file:///etc/passwd", host, sizeof(host)), "no host");
	check(!tsk_url_host("http://[::1/", host, sizeof(host)), "unclosed bracket");
	return unit_summary("test_hostcheck");
}
