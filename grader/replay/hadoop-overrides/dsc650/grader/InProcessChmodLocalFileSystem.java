package dsc650.grader;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.Set;

import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.apache.hadoop.fs.permission.FsPermission;
import org.apache.hadoop.io.nativeio.NativeIO;

/**
 * Hadoop's local file system (fs.file.impl), with permissions set in the JVM's own process.
 *
 * <p>Without Hadoop's native library, which pyspark does not ship, RawLocalFileSystem sets the
 * permission of every file and folder it creates by running {@code chmod} in a child process:
 * 1,420 of them in a replay of the original release's size, 425 in one of the fixtures. This sets
 * the same mode with java.nio, and hands to Hadoop what java.nio cannot set: a mode beyond the
 * nine rwx bits, or a file system without POSIX permissions (Windows).
 *
 * <p>Rebuild the jar after a change: {@code python -m grader.replay.hadoop_overrides}.
 */
public class InProcessChmodLocalFileSystem extends LocalFileSystem {
  public InProcessChmodLocalFileSystem() {
    super(new Raw());
  }

  /** The raw file system beneath the checksums, where permissions are set. */
  public static class Raw extends RawLocalFileSystem {
    /** Bit i of a mode, from others' execute (bit 0) to the owner's read (bit 8). */
    private static final PosixFilePermission[] BITS = {
      PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_READ,
      PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_READ,
      PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_READ,
    };

    @Override
    public void setPermission(Path p, FsPermission permission) throws IOException {
      int mode = permission.toShort();
      if ((mode & ~0777) == 0 && !NativeIO.isAvailable()) {
        Set<PosixFilePermission> set = EnumSet.noneOf(PosixFilePermission.class);
        for (int bit = 0; bit < BITS.length; bit++) {
          if ((mode & (1 << bit)) != 0) {
            set.add(BITS[bit]);
          }
        }
        try {
          Files.setPosixFilePermissions(pathToFile(p).toPath(), set);
          return;
        } catch (UnsupportedOperationException notPosix) {
          // Hadoop's own way, below
        }
      }
      super.setPermission(p, permission);
    }
  }
}
