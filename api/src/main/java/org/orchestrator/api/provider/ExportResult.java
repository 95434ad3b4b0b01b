package org.orchestrator.api.provider;

import java.nio.file.Path;

/**
 * The outcome of an export.
 *
 * @param imageId   the provider's id of the new image
 * @param imageTag  the tag given to it
 * @param archive   the saved archive, or {@code null} when none was requested
 * @param sizeBytes the archive size in bytes, or {@code 0} when none was saved
 */
public record ExportResult(String imageId, String imageTag, Path archive, long sizeBytes) {
}
