package org.orchestrator.provider.docker;

import java.util.Objects;

/**
 * An image reference split into repository and tag (or digest), as the pull and commit APIs
 * want them. {@code busybox} becomes {@code busybox:latest}; a registry port
 * ({@code host:5000/app}) is not mistaken for a tag.
 *
 * @param repository the repository, e.g. {@code orchestrator/client}
 * @param tag        the tag, or a digest {@code sha256:...}
 */
record ImageReference(String repository, String tag) {

    ImageReference {
        Objects.requireNonNull(repository, "repository");
        Objects.requireNonNull(tag, "tag");
        if (repository.isEmpty() || tag.isEmpty()) {
            throw new IllegalArgumentException("image reference needs a repository and a tag");
        }
    }

    /** @throws IllegalArgumentException when the text is empty */
    static ImageReference parse(String reference) {
        Objects.requireNonNull(reference, "reference");
        int at = reference.indexOf('@');
        if (at >= 0) {
            return new ImageReference(reference.substring(0, at), reference.substring(at + 1));
        }
        int slash = reference.lastIndexOf('/');
        int colon = reference.lastIndexOf(':');
        if (colon > slash) {
            return new ImageReference(reference.substring(0, colon), reference.substring(colon + 1));
        }
        return new ImageReference(reference, "latest");
    }

    @Override
    public String toString() {
        return tag.contains(":") ? repository + "@" + tag : repository + ":" + tag;
    }
}
