/* Message files hold mail: private to the dataplane's user whatever its umask, and
 * never written through a symlink someone planted (issue 12). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cunit_run.h"
#include "output/msgfile.h"

static char root[64];

static int setup(void)
{
	snprintf(root, sizeof root, "/tmp/sluice-msgfile-XXXXXX");
	return mkdtemp(root) ? 0 : -1;
}

static int teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", root);
	return system(cmd) == 0 ? 0 : -1;
}

static mode_t mode_of(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0 ? st.st_mode & 07777 : (mode_t)-1;
}

static void test_private_modes(void)
{
	mode_t old = umask(0); /* the most permissive umask a service could run with */
	char dir[128], kept[200];
	snprintf(dir, sizeof dir, "%s/a/b", root);
	struct dp_msgdir d;
	char err[256];
	CU_ASSERT_EQUAL_FATAL(dp_msgdir_init(&d, dir, "w0", err, sizeof err), 0);
	CU_ASSERT_EQUAL(mode_of(dir), 0700);
	snprintf(kept, sizeof kept, "%s/a", root);
	CU_ASSERT_EQUAL(mode_of(kept), 0700);
	struct dp_msgfile *m = dp_msgdir_begin(&d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(mode_of(m->tmp), 0600);
	dp_msgfile_write(m, (const uint8_t *)"Subject: x\r\n\r\nsecret\r\n", 22);
	snprintf(kept, sizeof kept, "%s/kept.eml", dir);
	CU_ASSERT_EQUAL(dp_msgfile_keep(m, kept), 0);
	CU_ASSERT_EQUAL(mode_of(kept), 0600);
	umask(old);
}

static void test_no_symlink(void)
{
	char dir[128], target[200], link[200];
	snprintf(dir, sizeof dir, "%s/s", root);
	struct dp_msgdir d;
	char err[256];
	CU_ASSERT_EQUAL_FATAL(dp_msgdir_init(&d, dir, "w1", err, sizeof err), 0);
	/* the next temporary file's name, planted as a symlink to a file elsewhere */
	snprintf(target, sizeof target, "%s/victim", root);
	FILE *f = fopen(target, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("untouched", f);
	fclose(f);
	snprintf(link, sizeof link, "%s/.tmp-w1-0.eml", dir);
	CU_ASSERT_EQUAL_FATAL(symlink(target, link), 0);
	CU_ASSERT_PTR_NULL(dp_msgdir_begin(&d)); /* refused, not followed */
	struct stat st;
	CU_ASSERT_EQUAL(stat(target, &st), 0);
	CU_ASSERT_EQUAL(st.st_size, 9);
}

int main(void)
{
	static const struct cu_test tests[] = {
		{ "mail files and directories are private", test_private_modes },
		{ "a planted symlink is not followed", test_no_symlink },
		{ NULL, NULL },
	};
	return cu_run_suite("dp_msgfile", setup, teardown, tests);
}
