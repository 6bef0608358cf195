/* memfs — the smallest FUSE filesystem that serves one file from memory.
 *
 *   $ build/bench-memfs FILE MOUNTPOINT [-f] [-o direct_io]
 *   $ cat MOUNTPOINT/video.mp4 > /dev/null
 *
 * The warm-read limit for bench_stream.py: whatever seedancefs does on top
 * of FUSE costs the difference between its reads and these. Same kernel
 * settings as seedancefs (keep_cache, long timeouts, multithreaded loop);
 * `-o direct_io` bypasses the page cache instead.
 */
#include <fuse_lowlevel.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILE_INO 2
#define NAME "video.mp4"

static char *data;
static size_t size;
static int direct_io;

static void fill_stat(fuse_ino_t ino, struct stat *st)
{
    memset(st, 0, sizeof *st);
    st->st_ino = ino;
    if (ino == FUSE_ROOT_ID) {
        st->st_mode = S_IFDIR | 0755;
        st->st_nlink = 2;
    } else {
        st->st_mode = S_IFREG | 0444;
        st->st_nlink = 1;
        st->st_size = (off_t)size;
    }
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    struct fuse_entry_param e = { .ino = FILE_INO, .attr_timeout = 3600, .entry_timeout = 3600 };

    if (parent != FUSE_ROOT_ID || strcmp(name, NAME)) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    fill_stat(FILE_INO, &e.attr);
    fuse_reply_entry(req, &e);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct stat st;
    (void)fi;
    fill_stat(ino, &st);
    fuse_reply_attr(req, &st, 3600);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    (void)ino;
    fi->keep_cache = !direct_io;
    fi->direct_io = direct_io;
    fuse_reply_open(req, fi);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t n, off_t off, struct fuse_file_info *fi)
{
    (void)ino; (void)fi;
    if ((size_t)off >= size)
        n = 0;
    else if (n > size - (size_t)off)
        n = size - (size_t)off;
    fuse_reply_buf(req, data + off, n);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t n, off_t off, struct fuse_file_info *fi)
{
    char buf[512];
    size_t used = 0;
    struct stat st;
    (void)ino; (void)fi;

    fill_stat(FILE_INO, &st);
    if (off == 0)
        used = fuse_add_direntry(req, buf, sizeof buf, NAME, &st, 1);
    fuse_reply_buf(req, buf, used < n ? used : 0);
}

static const struct fuse_lowlevel_ops ops = {
    .lookup = op_lookup, .getattr = op_getattr, .open = op_open, .read = op_read,
    .readdir = op_readdir,
};

int main(int argc, char **argv)
{
    struct fuse_args args;
    struct fuse_cmdline_opts opts = {0};
    struct fuse_session *se;
    struct fuse_loop_config *loop;
    struct stat st;
    int fd, rc = 1;

    if (argc < 3) {
        fprintf(stderr, "usage: bench-memfs FILE MOUNTPOINT [-f] [-o direct_io]\n");
        return 2;
    }
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "direct_io") || !strcmp(argv[i], "-odirect_io")) {
            direct_io = 1;          /* ours, not libfuse's: a plain "ro" stands in */
            argv[i] = (char *)(argv[i][0] == '-' ? "-oro" : "ro");
        }
    if ((fd = open(argv[1], O_RDONLY)) < 0 || fstat(fd, &st) || !(size = (size_t)st.st_size) ||
        !(data = malloc(size)) || read(fd, data, size) != (ssize_t)size) {
        fprintf(stderr, "bench-memfs: cannot load %s\n", argv[1]);
        return 1;
    }
    close(fd);
    mlock(data, size);              /* "from memory" means no page faults either */
    args = (struct fuse_args)FUSE_ARGS_INIT(argc - 1, argv + 1);
    if (fuse_parse_cmdline(&args, &opts) || !opts.mountpoint)
        return 2;
    if (!(se = fuse_session_new(&args, &ops, sizeof ops, NULL)))
        return 1;
    if (!fuse_set_signal_handlers(se) && !fuse_session_mount(se, opts.mountpoint)) {
        fuse_daemonize(opts.foreground);
        if ((loop = fuse_loop_cfg_create())) {
            fuse_loop_cfg_set_max_threads(loop, 64);
            rc = fuse_session_loop_mt(se, loop) ? 1 : 0;
            fuse_loop_cfg_destroy(loop);
        }
        fuse_session_unmount(se);
    }
    fuse_remove_signal_handlers(se);
    fuse_session_destroy(se);
    free(opts.mountpoint);
    fuse_opt_free_args(&args);
    free(data);
    return rc;
}
