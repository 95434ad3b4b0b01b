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
 * @param size     the number of spares the pool keeps now: {@code min}, raised towards {@code max}
 *                 while devices claim spares faster than that (0 = pool disabled)
 * @param ready    spares running and ready to be claimed
 * @param starting spares being created
 * @param claimed  spares claimed by clients since core started
 * @param min      the configured least number of spares (since 1.3)
 * @param max      the configured most number of spares (since 1.3)
 * @since 1.1
 */
public record PoolView(String provider, String network, String image, String poolKey, int size, int ready, int starting,
                       long claimed, int min, int max) {

    public PoolView {
        Objects.requireNonNull(provider, "provider");
        Objects.requireNonNull(image, "image");
        Objects.requireNonNull(poolKey, "poolKey");
    }

    /** A pool of a fixed size (min = max = size), as before 1.3. */
    public PoolView(String provider, String network, String image, String poolKey, int size, int ready, int starting,
                    long claimed) {
        this(provider, network, image, poolKey, size, ready, starting, claimed, size, size);
    }
}
