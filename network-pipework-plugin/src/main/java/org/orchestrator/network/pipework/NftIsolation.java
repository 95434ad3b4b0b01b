package org.orchestrator.network.pipework;

import java.net.Inet6Address;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.orchestrator.api.lease.Identifiers;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The nftables side of isolation: one {@code inet} table per network with a set of allowed
 * {@code peer . instance} address pairs, a forward chain that admits only those pairs (and
 * replies) into the instance bridge and nothing new out of it, and an input chain that keeps
 * instances off the host except ICMPv6 (and DHCPv6 in DHCP mode). Rulesets are fed to
 * {@code nft -f -} on standard input; updates are set element adds and deletes, sent to the
 * network's long-lived {@link NftSession} when there is one (else, or when it cannot answer, each
 * as a process of its own). Thread-safe if the caller serialises updates of one table.
 */
final class NftIsolation {

    private static final Logger LOG = LoggerFactory.getLogger(NftIsolation.class);
    static final String SET = "allowed";
    private static final Pattern PAIR = Pattern.compile("([0-9a-fA-F:.]+)\\s+\\.\\s+([0-9a-fA-F:.]+)");

    /** A device address and the instance address it may reach. */
    record Pair(Inet6Address peer, Inet6Address instance) {
        Pair {
            Objects.requireNonNull(peer, "peer");
            Objects.requireNonNull(instance, "instance");
        }

        String text() {
            return Addresses.text(peer) + " . " + Addresses.text(instance);
        }
    }

    private final CommandRunner runner;
    private final PipeworkSettings settings;
    private final NftSession session;

    NftIsolation(CommandRunner runner, PipeworkSettings settings) {
        this(runner, settings, null);
    }

    /** @param session runs the element updates and listings, or null to run each as a process */
    NftIsolation(CommandRunner runner, PipeworkSettings settings, NftSession session) {
        this.runner = Objects.requireNonNull(runner, "runner");
        this.settings = Objects.requireNonNull(settings, "settings");
        this.session = session;
    }

    /** @return the complete ruleset that (re)creates the table atomically with {@code pairs} */
    String ruleset(Collection<Pair> pairs) {
        String table = "inet " + settings.nftTable();
        String br = quote(settings.bridge());
        boolean dhcp = settings.addressing() == Addressing.DHCP;
        StringBuilder r = new StringBuilder();
        // "add" then "delete" makes the load work whether or not the table exists
        r.append("add table ").append(table).append('\n');
        r.append("delete table ").append(table).append('\n');
        r.append("table ").append(table).append(" {\n");
        r.append("\tset ").append(SET).append(" {\n");
        r.append("\t\ttype ipv6_addr . ipv6_addr\n");
        if (!pairs.isEmpty()) {
            r.append("\t\telements = { ");
            r.append(String.join(", ", pairs.stream().map(Pair::text).toList()));
            r.append(" }\n");
        }
        r.append("\t}\n\n");
        r.append("\tchain forward {\n");
        r.append("\t\ttype filter hook forward priority filter; policy accept;\n");
        r.append("\t\toifname ").append(br).append(" ct state established,related accept\n");
        r.append("\t\tiifname ").append(br).append(" ct state established,related accept\n");
        StringBuilder allow = new StringBuilder("\t\t");
        if (settings.deviceInterface() != null) {
            allow.append("iifname ").append(quote(settings.deviceInterface())).append(' ');
        } else {
            allow.append("iifname != ").append(br).append(' ');
        }
        allow.append("oifname ").append(br).append(' ');
        if (settings.devicePrefix() != null) {
            allow.append("ip6 saddr ").append(Addresses.text(settings.devicePrefix())).append(' ');
        }
        allow.append("ip6 saddr . ip6 daddr @").append(SET).append(" accept\n");
        r.append(allow);
        if (dhcp) {
            // a DHCPv6 server on a port of the bridge (seen here only with br_netfilter)
            r.append("\t\tiifname ").append(br).append(" oifname ").append(br).append(" udp dport { 546, 547 } accept\n");
            r.append("\t\tiifname ").append(br).append(" oifname ").append(br)
                    .append(" icmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert } accept\n");
        }
        r.append("\t\toifname ").append(br).append(" drop\n");
        r.append("\t\tiifname ").append(br).append(" drop\n");
        r.append("\t}\n\n");
        r.append("\tchain input {\n");
        r.append("\t\ttype filter hook input priority filter; policy accept;\n");
        r.append("\t\tiifname ").append(br).append(" ct state established,related accept\n");
        r.append("\t\tiifname ").append(br).append(" icmpv6 type { destination-unreachable, packet-too-big, time-exceeded,"
                + " parameter-problem, echo-request, echo-reply, nd-router-solicit, nd-router-advert, nd-neighbor-solicit,"
                + " nd-neighbor-advert, mld-listener-query, mld-listener-report, mld2-listener-report } accept\n");
        if (dhcp) {
            r.append("\t\tiifname ").append(br).append(" udp dport 547 accept\n");
        }
        r.append("\t\tiifname ").append(br).append(" drop\n");
        r.append("\t}\n");
        r.append("}\n");
        return r.toString();
    }

    /** (Re)creates the table with exactly {@code pairs} in the set, in one transaction. */
    void install(Collection<Pair> pairs) {
        runner.checkWithInput(ruleset(pairs), "nft", "-f", "-");
        LOG.info("nftables table inet {} installed with {} allowed pair(s)", settings.nftTable(), pairs.size());
    }

    /** @return whether the table exists */
    boolean installed() {
        return runner.attempt("nft", "list", "table", "inet", settings.nftTable()).ok();
    }

    /** Deletes the table; no-op when it is absent. */
    void remove() {
        if (installed()) {
            runner.check("nft", "delete", "table", "inet", settings.nftTable());
            LOG.info("nftables table inet {} removed", settings.nftTable());
        }
    }

    /** @return the allowed pairs currently in the set */
    List<Pair> pairs() {
        Optional<String> answered = session == null ? Optional.empty()
                : session.run("list set inet " + settings.nftTable() + " " + SET);
        String listing = answered.isPresent() ? answered.get() : runner.check("nft", "list", "set", "inet", settings.nftTable(), SET);
        int start = listing.indexOf("elements");
        List<Pair> pairs = new ArrayList<>();
        if (start < 0) {
            return pairs;
        }
        Matcher m = PAIR.matcher(listing.substring(start));
        while (m.find()) {
            pairs.add(new Pair(Identifiers.ipv6(m.group(1)), Identifiers.ipv6(m.group(2))));
        }
        return pairs;
    }

    /** Adds a pair; no-op when present. */
    void allow(Pair pair) {
        update("add element inet " + settings.nftTable() + " " + SET + " { " + pair.text() + " }");
    }

    /** Removes every pair whose instance side is one of {@code instances} or that equals {@code exact}. */
    void revoke(Set<Inet6Address> instances, Pair exact) {
        Set<Pair> doomed = new LinkedHashSet<>();
        for (Pair pair : pairs()) {
            if (instances.contains(pair.instance()) || pair.equals(exact)) {
                doomed.add(pair);
            }
        }
        if (doomed.isEmpty()) {
            return;
        }
        // one command, so one transaction: all of them go or none
        update("delete element inet " + settings.nftTable() + " " + SET + " { "
                + String.join(", ", doomed.stream().map(Pair::text).toList()) + " }");
    }

    /** Runs one command that changes the set: in the session, or as {@code nft -f -} when there is none or it cannot answer. */
    private void update(String command) {
        if (session == null || session.run(command).isEmpty()) {
            runner.checkWithInput(command + "\n", "nft", "-f", "-");
        }
    }

    private static String quote(String name) {
        // names are validated to [A-Za-z0-9_-]: quoting is for nft's parser, not for safety
        return "\"" + name + "\"";
    }
}
