package org.orchestrator.core.internal.store;

import java.net.Inet6Address;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import org.orchestrator.api.lease.Duid;
import org.orchestrator.api.manage.ClientState;
import org.orchestrator.api.manage.EventRecord;
import org.orchestrator.api.network.Attachment;

/** The operations available inside one store transaction. Not thread-safe; valid only inside the work. */
public interface StoreTx {

    Optional<ClientRecord> client(Duid duid);

    /** Reads the client and locks its row until the transaction ends. */
    Optional<ClientRecord> clientForUpdate(Duid duid);

    /** @return every client, most recently updated first */
    List<ClientRecord> clients();

    /** @return clients whose device address is {@code address}, active leases first */
    List<ClientRecord> clientsByAddress(Inet6Address address);

    /** @return clients of one DHCP source with an active lease */
    List<ClientRecord> activeClients(String source);

    /** Inserts or replaces the client row. */
    void saveClient(ClientRecord client);

    /**
     * Inserts the row of a client that is not stored: one statement instead of the two of
     * {@link #saveClient} for a new client.
     *
     * @throws StoreException when the client is stored already (unique key)
     */
    void insertClient(ClientRecord client);

    Optional<InstanceRecord> instance(String id);

    /** @return instances not destroyed yet */
    List<InstanceRecord> liveInstances();

    long countLiveInstances();

    /** Inserts or replaces the instance row. */
    void saveInstance(InstanceRecord instance);

    List<Attachment> attachments(String instanceId);

    /** Inserts or replaces the attachment of an instance on a network. */
    void saveAttachment(Attachment attachment);

    void deleteAttachments(String instanceId);

    /** Appends to the audit log. */
    void appendEvent(String kind, Duid duid, String instanceId, String message);

    /** @return entries with seq greater than {@code afterSeq}, ascending */
    List<EventRecord> events(long afterSeq, int limit);

    /** @return the newest entries, ascending */
    List<EventRecord> recentEvents(int limit);

    Map<ClientState, Long> countClientsByState();

    Optional<Inet6Address> allocation(String network, String owner);

    Map<String, Inet6Address> allocations(String network);

    Set<Inet6Address> allocatedAddresses(String network);

    /**
     * Inserts an allocation.
     *
     * @return false when the owner or the address is taken already (unique constraint)
     */
    boolean insertAllocation(String network, String owner, Inet6Address address);

    void deleteAllocation(String network, String owner);

    /** @return every spare of the warm pools, oldest first */
    List<PoolMemberRecord> poolMembers();

    /** Reads a spare and locks its row until the transaction ends. */
    Optional<PoolMemberRecord> poolMemberForUpdate(String id);

    /** Inserts or replaces a spare. */
    void savePoolMember(PoolMemberRecord member);

    /** @return whether a row was deleted */
    boolean deletePoolMember(String id);
}
