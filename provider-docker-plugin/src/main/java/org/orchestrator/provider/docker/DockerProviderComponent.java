package org.orchestrator.provider.docker;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.concurrent.atomic.AtomicReference;

import org.orchestrator.api.provider.InstanceChangeSink;
import org.orchestrator.api.provider.ResourceLimits;
import org.orchestrator.api.provider.VirtualizationProvider;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Docker endpoint per factory configuration {@value #PID}. Registers a
 * {@link VirtualizationProvider} with the service property {@value #PROVIDER_NAME} set to the
 * configured name, and reports outside changes to the optional {@link InstanceChangeSink}.
 *
 * <p>The service is registered by hand rather than by DS so that its properties are exactly the
 * provider's identity, not the whole configuration (which holds file paths).
 */
@Component(configurationPid = DockerProviderComponent.PID, configurationPolicy = ConfigurationPolicy.REQUIRE,
    immediate = true, service = {})
@Designate(ocd = DockerProviderComponent.Config.class, factory = true)
public final class DockerProviderComponent {

    /** The factory configuration PID. */
    public static final String PID = "org.orchestrator.provider.docker";
    /** Service property holding the provider's name. */
    public static final String PROVIDER_NAME = "provider.name";
    /** Service property naming the provider's kind. */
    public static final String PROVIDER_TYPE = "provider.type";
    /** Service property naming the Docker endpoint. */
    public static final String DOCKER_HOST = "provider.docker.host";

    private static final Logger LOG = LoggerFactory.getLogger(DockerProviderComponent.class);

    /** Settings of one Docker endpoint. */
    @ObjectClassDefinition(name = "Orchestrator Docker provider",
        description = "One Docker daemon that runs instances; one configuration per daemon.")
    public @interface Config {

        @AttributeDefinition(description = "Provider name, unique among providers: [a-z0-9][a-z0-9._-]{0,62}")
        String name() default "docker";

        @AttributeDefinition(description = "Docker endpoint: unix:///var/run/docker.sock or tcp://host:port")
        String dockerHost() default DockerSettings.DEFAULT_HOST;

        @AttributeDefinition(description = "Use TLS with client certificates (tcp:// endpoints only)")
        boolean tlsVerify() default false;

        @AttributeDefinition(description = "Folder with ca.pem, cert.pem and key.pem for tlsVerify", required = false)
        String certPath() default "";

        @AttributeDefinition(description = "Folder where export archives are written; empty disables archives",
            required = false)
        String exportFolder() default "";

        @AttributeDefinition(description = "Default memory limit in MiB when the instance has none (0 = none)", min = "0")
        long defaultMemoryMiB() default 256;

        @AttributeDefinition(description = "Default CPU limit in cores when the instance has none (0 = none)", min = "0")
        double defaultCpus() default 0.5;

        @AttributeDefinition(description = "Default process limit when the instance has none (0 = none)", min = "0")
        long defaultPids() default 128;

        @AttributeDefinition(description = "Capabilities dropped from every instance")
        String[] capDrop() default {"ALL"};

        @AttributeDefinition(description = "Capabilities added back; the default client image needs NET_BIND_SERVICE")
        String[] capAdd() default {"NET_BIND_SERVICE", "CHOWN", "SETUID", "SETGID"};

        @AttributeDefinition(description = "tmpfs mounts /path:options for instances with a read-only root file system")
        String[] readOnlyTmpfs() default {"/tmp:rw,nosuid,nodev,size=16m", "/www:rw,nosuid,nodev,size=4m"};

        @AttributeDefinition(description = "Connect timeout to the daemon in milliseconds", min = "100")
        long connectTimeoutMillis() default 2000;

        @AttributeDefinition(description = "Longest wait for a response from the daemon in seconds", min = "1")
        long responseTimeoutSeconds() default 60;

        @AttributeDefinition(description = "Grace period in seconds before a stopping instance is killed", min = "0")
        long stopTimeoutSeconds() default 10;

        @AttributeDefinition(description = "Longest wait for an image pull in seconds", min = "1")
        long pullTimeoutSeconds() default 300;

        @AttributeDefinition(description = "How often the daemon is checked, in milliseconds", min = "100")
        long monitorIntervalMillis() default 2000;

        @AttributeDefinition(description = "With a unix:// endpoint, write a claimed spare's identity files straight"
            + " into its root file system through /proc/<pid>/root (never following symbolic links) instead of"
            + " through the archive API; false = always the archive API")
        boolean directWrite() default true;
    }

    private final AtomicReference<InstanceChangeSink> sink = new AtomicReference<>();
    private final DockerProvider provider;
    private final ServiceRegistration<VirtualizationProvider> registration;

    @Activate
    public DockerProviderComponent(BundleContext context, Config config) {
        DockerSettings settings = settings(config);
        this.provider = new DockerProvider(settings, sink::get);
        provider.start();
        Dictionary<String, Object> properties = new Hashtable<>();
        properties.put(PROVIDER_NAME, settings.name());
        properties.put(PROVIDER_TYPE, "docker");
        properties.put(DOCKER_HOST, settings.dockerHost().toString());
        this.registration = context.registerService(VirtualizationProvider.class, provider, properties);
        LOG.info("Docker provider {} registered for {}", settings.name(), settings.dockerHost());
    }

    @Deactivate
    void deactivate() {
        try {
            registration.unregister();
        } catch (IllegalStateException e) {
            LOG.debug("provider {} was unregistered already", provider.name());
        }
        provider.close();
        LOG.info("Docker provider {} stopped", provider.name());
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
        policyOption = ReferencePolicyOption.GREEDY)
    void bindSink(InstanceChangeSink newSink) {
        sink.set(newSink);
    }

    void unbindSink(InstanceChangeSink oldSink) {
        sink.compareAndSet(oldSink, null);
    }

    /**
     * @throws IllegalArgumentException naming the bad setting
     */
    static DockerSettings settings(Config c) {
        Path certPath = c.certPath() == null || c.certPath().isBlank() ? null : Path.of(c.certPath().trim());
        Path exportFolder = c.exportFolder() == null || c.exportFolder().isBlank()
            ? null : Path.of(c.exportFolder().trim()).toAbsolutePath();
        if (c.defaultMemoryMiB() < 0 || c.defaultCpus() < 0 || c.defaultPids() < 0) {
            throw new IllegalArgumentException("default limits must not be negative");
        }
        ResourceLimits limits = new ResourceLimits(c.defaultMemoryMiB() * 1024 * 1024, c.defaultCpus(), c.defaultPids());
        return new DockerSettings(c.name(), URI.create(c.dockerHost().trim()), c.tlsVerify(), certPath, exportFolder,
            limits, Arrays.asList(c.capDrop()), Arrays.asList(c.capAdd()),
            DockerSettings.parseTmpfs(Arrays.asList(c.readOnlyTmpfs())),
            Duration.ofMillis(c.connectTimeoutMillis()), Duration.ofSeconds(c.responseTimeoutSeconds()),
            Duration.ofSeconds(c.stopTimeoutSeconds()), Duration.ofSeconds(c.pullTimeoutSeconds()),
            Duration.ofMillis(c.monitorIntervalMillis()), c.directWrite());
    }
}
