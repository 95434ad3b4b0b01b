package org.orchestrator.api.manage;

import java.util.Objects;

/**
 * The warm pool of one policy: spare instances started ahead of demand for one provider and
 * network with the current image and limits.
 *
 * @param provider the provider's name
 * @param network  the network claimed instances are attached to, or {@code null} for none
 * @param image    the image the spares run
 * @param poolKey  the digest naming the pool (image, limits, command, environment, provider, network)
 * @param size     the configured number of spares (0 = pool disabled)
 * @param ready    spares running and ready to be claimed
 * @param starting spares being created
 * @param claimed  spares claimed by clients since core started
 * @since 1.1
 */
public record PoolView(String provider, String network, String image, String poolKey, int size, int ready, int starting,
                       long claimed) {

    public PoolView {
        Objects.requireNonNull(provider, "provider");
        Objects.requireNonNull(image, "image");
        Objects.requireNonNull(poolKey, "poolKey");
    }
}
