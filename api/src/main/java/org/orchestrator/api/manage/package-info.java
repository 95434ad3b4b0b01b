/**
 * Manage contracts of the Orchestrator platform. See {@code docs/architecture.md}.
 */
@Export
@Version("1.4.0")
package org.orchestrator.api.manage;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
