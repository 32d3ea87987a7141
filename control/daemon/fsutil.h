/* Durable files for the state directory: written whole, fsync'd, renamed into place. */
#ifndef SLUICE_CONTROL_FSUTIL_H
#define SLUICE_CONTROL_FSUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Write path with these bytes (mode 0640) and fsync it. 0, or -1 with err. */
int fs_write_sync(const char *path, const void *data, size_t len, char *err, size_t errlen);
/* Write to path.tmp, fsync, rename over path, fsync the directory: readers see the old
 * file or the new one, never a part. */
int fs_replace(const char *path, const void *data, size_t len, char *err, size_t errlen);
int fs_fsync_dir(const char *dir, char *err, size_t errlen);
/* mkdir -p with mode 0750. */
int fs_mkdirs(const char *path, char *err, size_t errlen);
/* rm -r of a directory of plain files and directories (no symlinks followed). */
int fs_remove_tree(const char *path);

#endif
