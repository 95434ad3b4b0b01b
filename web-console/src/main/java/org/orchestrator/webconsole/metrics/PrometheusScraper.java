package org.orchestrator.webconsole.metrics;

/**
 * Renders the current metrics for a Prometheus scrape. A service inside this bundle only (its
 * package is private): {@link MicrometerMetrics} registers it, {@code GET metrics} uses it.
 */
public interface PrometheusScraper {

    /** The content type of {@link #scrape()}: the Prometheus text exposition format 0.0.4. */
    String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    /**
     * @return every metric in the Prometheus text exposition format 0.0.4; never throws because core
     *         is missing or failing (core's gauges are then NaN and {@code orchestrator_up} is 0)
     */
    String scrape();
}
