/**
 * Docker as a {@link org.orchestrator.api.provider.VirtualizationProvider}, over docker-java. Private to
 * the bundle.
 */
package org.orchestrator.provider.docker;
