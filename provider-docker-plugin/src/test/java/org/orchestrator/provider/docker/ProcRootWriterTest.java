package org.orchestrator.provider.docker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link ProcRootWriter} on plain directories standing in for a container's root (and a fake
 * {@code /proc}): what it writes, and that it never follows a symbolic link out of the root.
 */
class ProcRootWriterTest {

    private static final String ID = "c17190bd3891b9304c0b48e60c8f7ec9efdb3bfc5d17a1cb1899b210fe9123ec";

    @TempDir
    Path tmp;

    private Path root;
    private Path outside;

    private void layout() throws IOException {
        root = Files.createDirectories(tmp.resolve("root"));
        outside = Files.createDirectories(tmp.resolve("host"));
        Files.createDirectories(root.resolve("www"));
        Files.createDirectories(root.resolve("etc/orchestrator"));
    }

    private static Map<String, String> files() {
        Map<String, String> files = new LinkedHashMap<>();
        files.put("www/index.html", "<p>00:01</p>\n");
        files.put("www/duid", "00:01\n");
        files.put("etc/orchestrator/client", "00:01\n");
        return files;
    }

    private void writeAll(Map<String, String> files) throws IOException {
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(root)) {
            assertThat(ds).isInstanceOf(SecureDirectoryStream.class);
            ProcRootWriter.writeAll((SecureDirectoryStream<Path>) ds, files);
        }
    }

    private static List<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void writesEachFileWithMode0644AndLeavesNoTemporaryFile() throws IOException {
        layout();
        Files.writeString(root.resolve("www/index.html"), "old page, longer than the new one\n");
        writeAll(files());
        for (Map.Entry<String, String> f : files().entrySet()) {
            Path p = root.resolve(f.getKey());
            assertThat(p).isRegularFile().hasContent(f.getValue().strip());
            assertThat(Files.readString(p)).isEqualTo(f.getValue());
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS)))
                .isEqualTo("rw-r--r--");
            assertThat(Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS)).isEqualTo(0);
            assertThat(Files.getAttribute(p, "unix:gid", LinkOption.NOFOLLOW_LINKS)).isEqualTo(0);
        }
        assertThat(names(root.resolve("www"))).containsExactly("duid", "index.html");
        assertThat(names(root.resolve("etc/orchestrator"))).containsExactly("client");
    }

    @Test
    void aSymlinkedDirectoryIsRefusedAndNothingIsWrittenThroughIt() throws IOException {
        layout();
        Files.delete(root.resolve("www"));
        // Inside a container this absolute link would resolve against the host's root.
        Files.createSymbolicLink(root.resolve("www"), outside);
        assertThatThrownBy(() -> writeAll(files())).isInstanceOf(ProcRootWriter.Refused.class)
            .hasMessageContaining("/www is a symbolic link");
        assertThat(names(outside)).isEmpty();

        // deeper down, and a relative link
        Files.delete(root.resolve("www"));
        Files.createDirectories(root.resolve("www"));
        Files.delete(root.resolve("etc/orchestrator"));
        Files.createSymbolicLink(root.resolve("etc/orchestrator"), Path.of("../../host"));
        assertThatThrownBy(() -> writeAll(Map.of("etc/orchestrator/client", "x\n")))
            .isInstanceOf(ProcRootWriter.Refused.class).hasMessageContaining("/etc/orchestrator is a symbolic link");
        assertThat(names(outside)).isEmpty();
    }

    @Test
    void aSymlinkAtTheTargetIsReplacedNotFollowed() throws IOException {
        layout();
        Path hostFile = Files.writeString(outside.resolve("passwd"), "host\n");
        Files.createSymbolicLink(root.resolve("www/duid"), hostFile);
        writeAll(files());
        assertThat(hostFile).hasContent("host");
        assertThat(root.resolve("www/duid")).isRegularFile().hasContent("00:01");
        assertThat(Files.isSymbolicLink(root.resolve("www/duid"))).isFalse();
    }

    @Test
    void aMissingDirectoryOrAFileInThePathIsRefused() throws IOException {
        layout();
        Files.delete(root.resolve("etc/orchestrator"));
        assertThatThrownBy(() -> writeAll(Map.of("etc/orchestrator/client", "x\n")))
            .isInstanceOf(ProcRootWriter.Refused.class).hasMessageContaining("does not exist");
        assertThat(root.resolve("etc/orchestrator")).doesNotExist();
        Files.writeString(root.resolve("etc/orchestrator"), "a file");
        assertThatThrownBy(() -> writeAll(Map.of("etc/orchestrator/client", "x\n")))
            .isInstanceOf(ProcRootWriter.Refused.class).hasMessageContaining("not a directory");
    }

    @Test
    void onlyPlainRelativePathsAreAccepted() {
        assertThat(ProcRootWriter.components("www/index.html")).containsExactly("www", "index.html");
        for (String bad : List.of("", "/www/x", "www//x", "www/../x", "./x", "www/", "a\0b")) {
            assertThatThrownBy(() -> ProcRootWriter.components(bad)).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void theProcessMustBeTheContainersAndItsStartTimeReadable() throws IOException {
        layout();
        Path proc = Files.createDirectories(tmp.resolve("proc"));
        Path process = Files.createDirectories(proc.resolve("4242"));
        // A command name with spaces and parentheses must not shift the fields.
        Files.writeString(process.resolve("stat"), "4242 (evil) 1 2 3) S 1 4242 4242 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 "
            + "987654 1 2\n");
        Files.writeString(process.resolve("cgroup"), "12:pids:/docker/" + ID + "\n0::/docker/" + ID + "\n");
        Files.writeString(process.resolve("uid_map"), "         0          0 4294967295\n");
        Files.writeString(process.resolve("gid_map"), "         0          0 4294967295\n");
        Files.createSymbolicLink(process.resolve("root"), root);
        assertThat(ProcRootWriter.startTime(process)).isEqualTo(987654L);

        ProcRootWriter writer = new ProcRootWriter(proc);
        writer.write(4242, ID, files());
        assertThat(root.resolve("www/duid")).hasContent("00:01");

        // a process remembered from earlier must still have the start time it had then
        writer.write(4242, ID, 987654L, files());
        assertThatThrownBy(() -> writer.write(4242, ID, 987653L, files()))
            .isInstanceOf(ProcRootWriter.Refused.class).hasMessageContaining("not the one that started at 987653");
        assertThat(writer.isProcessOf(4242, ID, 987654L)).isTrue();
        assertThat(writer.isProcessOf(4242, ID, 987653L)).isFalse();
        assertThat(writer.isProcessOf(4242, ID.replace('c', 'd'), 987654L)).isFalse();

        assertThatThrownBy(() -> writer.write(4242, ID.replace('c', 'd'), files()))
            .isInstanceOf(ProcRootWriter.Refused.class).hasMessageContaining("not in a cgroup");
        assertThatThrownBy(() -> writer.write(4243, ID, files()))
            .isInstanceOf(ProcRootWriter.Refused.class).hasMessageContaining("gone");
        assertThatThrownBy(() -> writer.write(1, ID, files())).isInstanceOf(ProcRootWriter.Refused.class);
        Files.writeString(process.resolve("uid_map"), "         0     100000      65536\n");
        assertThatThrownBy(() -> writer.write(4242, ID, files()))
            .isInstanceOf(ProcRootWriter.Refused.class).hasMessageContaining("user namespace");
    }
}
