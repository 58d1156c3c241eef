/* omcc: the optmig compiler driver.
 *
 * Compiles C (and assembly) sources against musl with clang, and links them
 * with the trusted runtime (libomrt.a), musl's libc.a and BearSSL into a
 * self-contained static-PIE enclave image. The linked image is then checked
 * with the same parser the loader uses, and for symbols that would need a
 * host dynamic loader. Anything refused is named in the error, and a bad
 * output is removed.
 *
 * clang is run with posix_spawnp (never a shell); OMCC_CLANG picks it
 * (default clang-14). The runtime is <dir of omcc>/../lib/optmig/libomrt.a,
 * or $OMCC_RUNTIME_DIR/libomrt.a; the OptMig pass plugin (OptMigPass.so)
 * sits beside it and is loaded into every compile unless --track=none
 * --no-polls. The link wraps the libc entry points of cc_libc.c
 * (-Wl,--wrap) so the runtime can track what libc reads and writes. Temporaries live in a mkdtemp directory
 * that is removed on every exit path, including SIGINT/SIGTERM/SIGHUP. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "elf_image.h"
#include "libc_cover.h"

extern char **environ;

#ifndef OM_VERSION
#error "OM_VERSION, OM_MUSL_INC, OM_MUSL_LIB and OM_BEARSSL_LIB come from CMake"
#endif

/* ---- small utilities ---------------------------------------------------- */

static void remove_tmpdir(void);

__attribute__((noreturn)) static void oom(void)
{
    fputs("omcc: error: out of memory\n", stderr);
    remove_tmpdir();
    exit(1);
}

static char *xstrdup(const char *s)
{
    char *r = strdup(s);
    if (!r)
        oom();
    return r;
}

__attribute__((format(printf, 1, 2))) static char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *r;
    va_start(ap, fmt);
    int n = vasprintf(&r, fmt, ap);
    va_end(ap);
    if (n < 0)
        oom();
    return r;
}

__attribute__((format(printf, 1, 2))) static int error(const char *fmt, ...)
{
    va_list ap;
    fputs("omcc: error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return -1;
}

/* NULL-terminated vector of owned strings, usable directly as an argv. */
struct strv {
    char **v;
    size_t n, cap;
};

static void strv_take(struct strv *s, char *str)
{
    if (s->n + 2 > s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        char **v = realloc(s->v, cap * sizeof *v);
        if (!v)
            oom();
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = str;
    s->v[s->n] = NULL;
}

static void strv_push(struct strv *s, const char *str) { strv_take(s, xstrdup(str)); }

static void strv_append(struct strv *s, const struct strv *from)
{
    for (size_t i = 0; i < from->n; i++)
        strv_push(s, from->v[i]);
}

static void strv_free(struct strv *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}

static const char *base_name(const char *p)
{
    const char *b = strrchr(p, '/');
    return b ? b + 1 : p;
}

static const char *extension(const char *p)
{
    const char *d = strrchr(base_name(p), '.');
    return d ? d : "";
}

static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* ---- temporaries and signals -------------------------------------------- */

static char tmpdir[PATH_MAX];
static volatile sig_atomic_t have_tmpdir;
static char partial_output[PATH_MAX]; /* output being written; removed if interrupted */
static volatile sig_atomic_t have_partial;
static volatile pid_t running_child;

/* Async-signal-safe: raw getdents64 + unlinkat, no malloc. The directory only
 * holds flat files that omcc created. */
static void remove_tmpdir(void)
{
    if (!have_tmpdir)
        return;
    int fd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        char buf[4096] __attribute__((aligned(8)));
        long n;
        while ((n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
            for (long off = 0; off < n;) {
                struct dirent64 *e = (struct dirent64 *)(buf + off);
                if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
                    unlinkat(fd, e->d_name, 0);
                off += e->d_reclen;
            }
        }
        close(fd);
    }
    rmdir(tmpdir);
    have_tmpdir = 0;
}

static void on_signal(int sig)
{
    pid_t child = running_child;
    if (child > 0)
        kill(child, sig);
    if (have_partial)
        unlink(partial_output);
    remove_tmpdir();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void install_signal_handlers(void)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaddset(&sa.sa_mask, sigs[i]);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaction(sigs[i], &sa, NULL);
}

static int make_tmpdir(void)
{
    const char *t = getenv("TMPDIR");
    if (!t || !*t)
        t = "/tmp";
    if ((size_t)snprintf(tmpdir, sizeof tmpdir, "%s/omcc-XXXXXX", t) >= sizeof tmpdir)
        return error("TMPDIR is too long");
    if (!mkdtemp(tmpdir))
        return error("cannot create a temporary directory in %s: %s", t, strerror(errno));
    have_tmpdir = 1;
    return 0;
}

static void set_partial(const char *path)
{
    have_partial = 0;
    if (path && strlen(path) < sizeof partial_output) {
        strcpy(partial_output, path);
        have_partial = 1;
    }
}

/* ---- running clang ------------------------------------------------------ */

static void print_cmd(char *const *argv)
{
    for (size_t i = 0; argv[i]; i++) {
        const char *a = argv[i];
        int plain = *a != 0;
        for (const char *p = a; *p; p++)
            if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=+./,:@%", *p))
                plain = 0;
        if (i)
            fputc(' ', stderr);
        if (plain) {
            fputs(a, stderr);
        } else {
            fputc('\'', stderr);
            for (const char *p = a; *p; p++)
                if (*p == '\'')
                    fputs("'\\''", stderr);
                else
                    fputc(*p, stderr);
            fputc('\'', stderr);
        }
    }
    fputc('\n', stderr);
}

static int wait_child(pid_t pid, const char *what)
{
    int st;
    running_child = pid;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) {
            running_child = 0;
            return error("waiting for %s: %s", what, strerror(errno));
        }
    running_child = 0;
    if (WIFEXITED(st))
        return WEXITSTATUS(st) == 0 ? 0 : -1; /* clang printed its own diagnostics */
    if (WIFSIGNALED(st))
        return error("%s was killed by signal %d", what, WTERMSIG(st));
    return -1;
}

static int spawn_error(const char *prog, int rc)
{
    return error("cannot run %s: %s (set OMCC_CLANG to a clang executable)", prog, strerror(rc));
}

static int run(const struct strv *cmd, int verbose)
{
    pid_t pid;
    if (verbose)
        print_cmd(cmd->v);
    int rc = posix_spawnp(&pid, cmd->v[0], NULL, NULL, cmd->v, environ);
    if (rc)
        return spawn_error(cmd->v[0], rc);
    return wait_child(pid, cmd->v[0]);
}

/* Runs argv and returns its stdout, NUL-terminated, in *out (owned); on
 * failure says so at level ("error" or "warning") with hint, returns -1. */
static int capture(char *const *argv, int verbose, const char *level, const char *hint, char **out)
{
    int p[2];
    pid_t pid;
    posix_spawn_file_actions_t fa;
    if (verbose)
        print_cmd(argv);
    if (pipe2(p, O_CLOEXEC) != 0) {
        fprintf(stderr, "omcc: %s: pipe: %s\n", level, strerror(errno));
        return -1;
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(p[1]);
    if (rc) {
        close(p[0]);
        fprintf(stderr, "omcc: %s: cannot run %s: %s (%s)\n", level, argv[0], strerror(rc), hint);
        return -1;
    }
    size_t len = 0, cap = 1 << 16;
    char *buf = malloc(cap);
    if (!buf)
        oom();
    for (;;) {
        if (len + 1 == cap) {
            char *b = realloc(buf, cap *= 2);
            if (!b)
                oom();
            buf = b;
        }
        ssize_t r = read(p[0], buf + len, cap - 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    close(p[0]);
    buf[len] = 0;
    if (wait_child(pid, argv[0]) != 0) {
        free(buf);
        fprintf(stderr, "omcc: %s: %s failed\n", level, argv[0]);
        return -1;
    }
    *out = buf;
    return 0;
}

/* `clang -print-resource-dir`, trimmed (owned). */
static char *clang_resource_dir(const char *clang, int verbose)
{
    char *argv[] = {(char *)clang, "-print-resource-dir", NULL}, *out;
    if (capture(argv, verbose, "error", "set OMCC_CLANG to a clang executable", &out))
        return NULL;
    size_t len = strlen(out);
    while (len && (out[len - 1] == '\n' || out[len - 1] == ' '))
        len--;
    out[len] = 0;
    if (!len) {
        free(out);
        error("%s -print-resource-dir printed nothing", clang);
        return NULL;
    }
    return out;
}

/* ---- command line ------------------------------------------------------- */

enum input_kind { IN_C, IN_ASM, IN_OBJ, IN_LIB };

struct input {
    enum input_kind kind;
    char *arg;  /* path, or library name for IN_LIB */
    char *file; /* what the link uses: compiled object or resolved archive */
};

struct opts {
    struct strv cflags;     /* compile only: -I -D -U -std -W -pthread */
    struct strv lflags;     /* compile and link: -O -g -f -m */
    struct strv link_only;  /* -fuse-ld= */
    struct strv libdirs;
    struct input *in;
    size_t nin, capin;
    const char *output;
    int compile_only, verbose, nsources;
    const char *track; /* -optmig-track value; NULL: none */
    int polls;
};

static void add_input(struct opts *o, enum input_kind k, const char *arg)
{
    if (o->nin == o->capin) {
        size_t cap = o->capin ? 2 * o->capin : 8;
        struct input *in = realloc(o->in, cap * sizeof *in);
        if (!in)
            oom();
        o->in = in;
        o->capin = cap;
    }
    o->in[o->nin++] = (struct input){k, xstrdup(arg), NULL};
    if (k == IN_C || k == IN_ASM)
        o->nsources++;
}

static void free_opts(struct opts *o)
{
    strv_free(&o->cflags);
    strv_free(&o->lflags);
    strv_free(&o->link_only);
    strv_free(&o->libdirs);
    for (size_t i = 0; i < o->nin; i++) {
        free(o->in[i].arg);
        free(o->in[i].file);
    }
    free(o->in);
}

static const char *const cxx_ext[] = {".cc",  ".cp",  ".cxx", ".cpp", ".CPP", ".c++", ".C", ".ii",
                                      ".hh",  ".hpp", ".hxx", ".h++", ".mm",  ".M",   ".cppm", ".ixx",
                                      ".cu",  NULL};

static int classify_input(struct opts *o, const char *path)
{
    const char *e = extension(path);
    for (size_t i = 0; cxx_ext[i]; i++)
        if (strcmp(e, cxx_ext[i]) == 0)
            return error("%s: C++ is not supported in enclaves", path);
    if (access(path, R_OK) != 0)
        return error("%s: %s", path, strerror(errno));
    if (strcmp(e, ".c") == 0)
        add_input(o, IN_C, path);
    else if (strcmp(e, ".s") == 0 || strcmp(e, ".S") == 0)
        add_input(o, IN_ASM, path);
    else if (strcmp(e, ".o") == 0 || strcmp(e, ".a") == 0)
        add_input(o, IN_OBJ, path);
    else if (strcmp(e, ".so") == 0 || strstr(base_name(path), ".so."))
        return error("%s: shared libraries cannot be linked into an enclave image", path);
    else if (strcmp(e, ".m") == 0)
        return error("%s: Objective-C is not supported in enclaves", path);
    else
        return error("%s: unrecognized input file type (expected .c, .s, .S, .o or .a)", path);
    return 0;
}

struct refusal {
    const char *flag, *why;
};

#define NOT_PIE "conflicts with the static-PIE image omcc builds"
#define OWN_LIBC "omcc supplies the enclave's C library, start files and trusted runtime itself"
static const struct refusal refused_exact[] = {
    {"-shared", "enclave images are self-contained executables, not shared objects"},
    {"-static", NOT_PIE " (images must be position-independent)"},
    {"-no-pie", NOT_PIE},
    {"-nopie", NOT_PIE},
    {"-r", NOT_PIE " (use -c for objects)"},
    {"-dynamic", NOT_PIE " (no dynamic loader runs in an enclave)"},
    {"-rdynamic", "enclave images export no dynamic symbols (no dynamic loader runs in an enclave)"},
    {"-nostdlib", OWN_LIBC},
    {"-nostartfiles", OWN_LIBC},
    {"-nodefaultlibs", OWN_LIBC},
    {"-nolibc", OWN_LIBC},
    {"-nostdinc", "omcc supplies the enclave's musl headers itself"},
    {"-nostdlibinc", "omcc supplies the enclave's musl headers itself"},
    {"-fno-pie", "enclave images are position-independent"},
    {"-fno-PIE", "enclave images are position-independent"},
    {"-fno-pic", "enclave images are position-independent"},
    {"-fno-PIC", "enclave images are position-independent"},
    {"-m32", "enclave images are x86-64 only"},
    {"-mx32", "enclave images are x86-64 only"},
    {"-m16", "enclave images are x86-64 only"},
};
static const struct refusal refused_prefix[] = {
    {"-std=c++", "C++ is not supported in enclaves"},
    {"-std=gnu++", "C++ is not supported in enclaves"},
    {"-fsanitize=", "sanitizer runtimes are host libraries, which enclave images cannot link"},
    {"-Wl,", "omcc controls the link; linker options are not passed through"},
    {"-Xlinker", "omcc controls the link; linker options are not passed through"},
};

/* Libraries that are part of musl's libc.a (their .a files are empty stubs),
 * or that omcc always links. */
static const char *const builtin_libs[] = {"c",    "m",      "pthread", "rt",      "dl",
                                           "util", "xnet",   "resolv",  "crypt",   "bearssl",
                                           NULL};

static const char *const host_include_dirs[] = {"/usr/include", "/usr/include/x86_64-linux-gnu",
                                                "/usr/local/include", NULL};
static const char *const host_lib_dirs[] = {"/lib",      "/lib64",     "/usr/lib",
                                            "/usr/lib64", "/lib/x86_64-linux-gnu",
                                            "/usr/lib/x86_64-linux-gnu", "/usr/local/lib", NULL};

static const char *host_dir(const char *dir, const char *const *list)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(dir, list[i]) == 0 || same_file(dir, list[i]))
            return list[i];
    return NULL;
}

/* -X value or -Xvalue. Returns 1 if arg is flag, with *val set; -1 if the value is missing. */
static int flag_value(const char *arg, const char *flag, int argc, char **argv, int *i,
                      const char **val)
{
    size_t n = strlen(flag);
    if (strncmp(arg, flag, n) != 0)
        return 0;
    if (arg[n]) {
        *val = arg + n;
        return 1;
    }
    if (*i + 1 >= argc) {
        error("missing argument to '%s'", flag);
        return -1;
    }
    *val = argv[++*i];
    return 1;
}

static int is_opt_level(const char *a)
{
    static const char *const levels[] = {"-O", "-O0", "-O1", "-O2", "-O3", "-Os", "-Oz", "-Og",
                                         "-Ofast", NULL};
    for (size_t i = 0; levels[i]; i++)
        if (strcmp(a, levels[i]) == 0)
            return 1;
    return 0;
}

enum { PARSE_OK = 0, PARSE_ERR = -1, PARSE_EXIT = 1 };

static void usage(void)
{
    fputs("usage: omcc [options] file...\n"
          "Builds optmig enclave images: self-contained musl static-PIE C programs that carry\n"
          "the trusted runtime, libc and BearSSL.\n\n"
          "inputs: .c, .s, .S sources; .o objects; .a archives\n"
          "  -c              compile only, to .o\n"
          "  -o FILE         output file (default a.out, or SOURCE.o with -c)\n"
          "  -O0..-O3, -Os, -Oz, -Og, -Ofast, -g...\n"
          "  -I DIR, -D NAME[=VAL], -U NAME, -std=STD, -W..., -w, -f..., -m..., -pthread\n"
          "  -L DIR          where -l finds lib<name>.a (never host library directories)\n"
          "  -l NAME         static library; m, pthread, rt, dl, c are part of musl's libc\n"
          "  --track=MODE    OptMig pass instrumentation compiled in: all (default: dirty\n"
          "                  marks and access checks, so either live strategy can use the\n"
          "                  compiler tracker), dirty, access, or none\n"
          "  --no-polls      no safepoint polls (threads then park only in calls; with\n"
          "                  --track=none the pass is not loaded at all)\n"
          "  -v              print the commands omcc runs\n"
          "  --help, --version\n\n"
          "environment: OMCC_CLANG (default clang-14), OMCC_NM (default llvm-nm with\n"
          "clang's suffix), OMCC_RUNTIME_DIR (holds libomrt.a and OptMigPass.so),\n"
          "TMPDIR\n",
          stdout);
}

static int parse_args(int argc, char **argv, struct opts *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        int r;
        if (a[0] != '-' || strcmp(a, "-") == 0) {
            if (strcmp(a, "-") == 0)
                return error("'-': reading a source from standard input is not supported");
            if (classify_input(o, a))
                return PARSE_ERR;
            continue;
        }
        for (size_t k = 0; k < sizeof refused_exact / sizeof refused_exact[0]; k++)
            if (strcmp(a, refused_exact[k].flag) == 0)
                return error("'%s' is not supported: %s", a, refused_exact[k].why);
        for (size_t k = 0; k < sizeof refused_prefix / sizeof refused_prefix[0]; k++)
            if (strncmp(a, refused_prefix[k].flag, strlen(refused_prefix[k].flag)) == 0)
                return error("'%s' is not supported: %s", a, refused_prefix[k].why);

        if (strcmp(a, "--help") == 0 || strcmp(a, "-help") == 0) {
            usage();
            return PARSE_EXIT;
        } else if (strcmp(a, "--version") == 0) {
            printf("omcc (optmig) %s\nenclave ABI %d\n", OM_VERSION, OM_ABI_VERSION);
            return PARSE_EXIT;
        } else if (strcmp(a, "-c") == 0) {
            o->compile_only = 1;
        } else if (strcmp(a, "-v") == 0) {
            o->verbose = 1;
        } else if (strncmp(a, "--track=", 8) == 0) {
            static const char *const modes[][2] = {
                {"all", "dirty+access"}, {"dirty", "dirty"}, {"access", "access"}, {"none", NULL}};
            size_t k = 0;
            while (k < 4 && strcmp(a + 8, modes[k][0]) != 0)
                k++;
            if (k == 4)
                return error("bad value in '%s': expected --track=all, dirty, access or none", a);
            o->track = modes[k][1];
        } else if (strcmp(a, "--no-polls") == 0) {
            o->polls = 0;
        } else if (strcmp(a, "-pipe") == 0 || strcmp(a, "-static-pie") == 0 ||
                   strcmp(a, "-pie") == 0) {
            /* what omcc does anyway */
        } else if (strcmp(a, "-pthread") == 0 || strcmp(a, "-w") == 0 ||
                   strncmp(a, "-std=", 5) == 0 || (a[1] == 'W' && a[2])) {
            strv_push(&o->cflags, a);
        } else if (a[1] == 'O') {
            if (!is_opt_level(a))
                return error("unknown optimization level '%s'", a);
            strv_push(&o->lflags, a);
        } else if (strncmp(a, "-fuse-ld=", 9) == 0) {
            strv_push(&o->link_only, a);
        } else if ((a[1] == 'g' || a[1] == 'f' || a[1] == 'm') && a[2] != 0) {
            strv_push(&o->lflags, a);
        } else if (strcmp(a, "-g") == 0) {
            strv_push(&o->lflags, a);
        } else if ((r = flag_value(a, "-o", argc, argv, &i, &v)) != 0) {
            if (r < 0)
                return PARSE_ERR;
            if (o->output)
                return error("more than one -o");
            o->output = v;
        } else if ((r = flag_value(a, "-I", argc, argv, &i, &v)) != 0) {
            const char *h;
            if (r < 0)
                return PARSE_ERR;
            if ((h = host_dir(v, host_include_dirs)))
                return error("'-I%s' is not supported: %s holds host (glibc) headers, which would "
                             "shadow the enclave's musl headers",
                             v, h);
            strv_take(&o->cflags, xasprintf("-I%s", v));
        } else if ((r = flag_value(a, "-D", argc, argv, &i, &v)) != 0) {
            if (r < 0)
                return PARSE_ERR;
            strv_take(&o->cflags, xasprintf("-D%s", v));
        } else if ((r = flag_value(a, "-U", argc, argv, &i, &v)) != 0) {
            if (r < 0)
                return PARSE_ERR;
            strv_take(&o->cflags, xasprintf("-U%s", v));
        } else if ((r = flag_value(a, "-L", argc, argv, &i, &v)) != 0) {
            const char *h;
            if (r < 0)
                return PARSE_ERR;
            if ((h = host_dir(v, host_lib_dirs)))
                return error("'-L%s' is not supported: %s holds host libraries, which enclave "
                             "images cannot link",
                             v, h);
            strv_push(&o->libdirs, v);
        } else if ((r = flag_value(a, "-l", argc, argv, &i, &v)) != 0) {
            if (r < 0)
                return PARSE_ERR;
            if (!*v || strchr(v, '/') || v[0] == ':')
                return error("'-l%s': give a plain library name", v);
            add_input(o, IN_LIB, v);
        } else {
            return error("unsupported option '%s' (see omcc --help)", a);
        }
    }
    if (o->nin == 0)
        return error("no input files");
    return PARSE_OK;
}

/* ---- building ----------------------------------------------------------- */

struct toolchain {
    const char *clang;
    char *resource_dir;
    char *runtime; /* libomrt.a */
    char *plugin;  /* OptMigPass.so; NULL: not instrumenting */
};

static int instrumenting(const struct opts *o) { return o->track || o->polls; }

/* The clang command that compiles one enclave source. This is the one place
 * that decides how enclave code is compiled and instrumented: the optmig pass
 * plugin (-fpass-plugin=...) is added here. */
static void compile_argv(struct strv *cmd, const struct toolchain *tc, const struct opts *o,
                         const char *src, const char *obj)
{
    strv_push(cmd, tc->clang);
    strv_push(cmd, "-nostdinc");
    strv_push(cmd, "-isystem");
    strv_push(cmd, OM_MUSL_INC);
    strv_push(cmd, "-isystem");
    strv_take(cmd, xasprintf("%s/include", tc->resource_dir));
    strv_append(cmd, &o->lflags);
    strv_append(cmd, &o->cflags);
    if (tc->plugin) {
        /* -Xclang -load too: clang 14 parses -mllvm before loading -fpass-plugin. */
        strv_take(cmd, xasprintf("-fpass-plugin=%s", tc->plugin));
        strv_push(cmd, "-Xclang");
        strv_push(cmd, "-load");
        strv_push(cmd, "-Xclang");
        strv_push(cmd, tc->plugin);
        strv_push(cmd, "-mllvm");
        strv_take(cmd, xasprintf("-optmig-track=%s", o->track ? o->track : "none"));
        strv_push(cmd, "-mllvm");
        strv_push(cmd, o->polls ? "-optmig-polls=true" : "-optmig-polls=false");
        /* Plain copies: the idle path runs uninstrumented code (docs/PASS.md). */
        strv_push(cmd, "-mllvm");
        strv_push(cmd, "-optmig-version=true");
    }
    strv_push(cmd, "-fPIE"); /* last, so it wins over any -fpic/-fPIC */
    strv_push(cmd, "-c");
    strv_push(cmd, src);
    strv_push(cmd, "-o");
    strv_push(cmd, obj);
}

static void link_argv(struct strv *cmd, const struct toolchain *tc, const struct opts *o,
                      const char *out)
{
    strv_push(cmd, tc->clang);
    strv_push(cmd, "-static-pie");
    strv_push(cmd, "-nostdlib");
    strv_push(cmd, "-nostartfiles");
    strv_push(cmd, "-Wl,--no-dynamic-linker");
    /* libc entry points whose reads and writes the runtime tracks (cc_libc.c). */
    for (size_t i = 0; wrapped_libc[i]; i++)
        strv_take(cmd, xasprintf("-Wl,--wrap=%s", wrapped_libc[i]));
    strv_push(cmd, "-Qunused-arguments");
    strv_append(cmd, &o->lflags);
    strv_append(cmd, &o->link_only);
    strv_push(cmd, "-o");
    strv_push(cmd, out);
    strv_push(cmd, OM_MUSL_LIB "/rcrt1.o");
    strv_push(cmd, OM_MUSL_LIB "/crti.o");
    for (size_t i = 0; i < o->nin; i++)
        if (o->in[i].file)
            strv_push(cmd, o->in[i].file);
    strv_push(cmd, "-Wl,--whole-archive");
    strv_push(cmd, tc->runtime);
    strv_push(cmd, "-Wl,--no-whole-archive");
    /* The migration codec and crypto sit beside the runtime; only what the
     * runtime uses is pulled in. */
    const char *slash = strrchr(tc->runtime, '/');
    int dirlen = slash ? (int)(slash - tc->runtime) : 1;
    const char *dir = slash ? tc->runtime : ".";
    strv_take(cmd, xasprintf("%.*s/libomproto.a", dirlen, dir));
    strv_take(cmd, xasprintf("%.*s/libomcrypto.a", dirlen, dir));
    strv_push(cmd, OM_BEARSSL_LIB); /* before libc.a: its seeder calls open/read */
    strv_push(cmd, OM_MUSL_LIB "/libc.a");
    strv_take(cmd, xasprintf("%s/lib/linux/libclang_rt.builtins-x86_64.a", tc->resource_dir));
    strv_push(cmd, OM_MUSL_LIB "/crtn.o");
    strv_push(cmd, "-Wl,-z,noexecstack");
}

static int compile_one(const struct toolchain *tc, const struct opts *o, const char *src,
                       const char *obj)
{
    struct strv cmd = {0};
    compile_argv(&cmd, tc, o, src, obj);
    set_partial(obj);
    int r = run(&cmd, o->verbose);
    set_partial(NULL);
    strv_free(&cmd);
    return r;
}

/* <runtime dir>/NAME: $OMCC_RUNTIME_DIR, or ../lib/optmig beside omcc. */
static char *find_lib_file(const char *name, const char *what, const char *hint)
{
    const char *env = getenv("OMCC_RUNTIME_DIR");
    char *path;
    if (env && *env) {
        path = xasprintf("%s/%s", env, name);
    } else {
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n <= 0) {
            error("cannot find omcc's own location: %s", strerror(errno));
            return NULL;
        }
        self[n] = 0;
        char *slash = strrchr(self, '/');
        if (slash)
            *slash = 0;
        path = xasprintf("%s/../lib/optmig/%s", self, name);
    }
    if (access(path, R_OK) != 0) {
        error("%s not found: %s: %s (%s)", what, path, strerror(errno), hint);
        free(path);
        return NULL;
    }
    char *real = realpath(path, NULL);
    if (real) {
        free(path);
        path = real;
    }
    return path;
}

static int resolve_lib(const struct opts *o, struct input *in)
{
    for (size_t i = 0; builtin_libs[i]; i++)
        if (strcmp(in->arg, builtin_libs[i]) == 0)
            return 0; /* already in the link */
    for (size_t i = 0; i < o->libdirs.n; i++) {
        char *p = xasprintf("%s/lib%s.a", o->libdirs.v[i], in->arg);
        if (access(p, R_OK) == 0) {
            in->file = p;
            return 0;
        }
        free(p);
    }
    return error("cannot find -l%s: no lib%s.a in the -L directories (enclave images link only "
                 "static libraries, never host ones)",
                 in->arg, in->arg);
}

/* Checks the linked image as the loader will, and for symbols that would
 * need a host dynamic loader at run time. */
static int check_image(const char *path)
{
    static const char *const forbidden[] = {"dlopen", "dlsym", "dlmopen"};
    struct om_image img;
    char err[512];
    size_t which;
    if (om_image_load(path, &img, err, sizeof err) != 0)
        return error("%s: %s", path, err);
    uint64_t span = img.span;
    int r = om_image_find_defined_symbol(&img, forbidden, 3, &which, err, sizeof err);
    om_image_free(&img);
    /* The loader gives the image 4 GiB of the range (src/host/layout.c):
     * static data beyond it would land outside the enclave's image area. */
    if (r == 0 && span > (1ull << 32))
        return error("%s: the image's loaded size (%llu bytes, mostly static data) exceeds the 4 GiB an "
                     "enclave image may occupy; allocate large arrays with malloc instead",
                     path, (unsigned long long)span);
    if (r < 0)
        return error("%s: %s", path, err);
    if (r > 0)
        return error("%s: links '%s': an enclave cannot load code at run time (that needs the "
                     "host's dynamic loader); remove the call",
                     path, forbidden[which]);
    return 0;
}

static char *object_name(const char *src)
{
    const char *b = base_name(src), *e = extension(src);
    return xasprintf("%.*s.o", (int)(e - b), b);
}

static int do_compile_only(const struct toolchain *tc, struct opts *o)
{
    if (o->nsources == 0)
        return error("-c given but no source files to compile");
    if (o->output && o->nsources > 1)
        return error("cannot use -o with -c and more than one source file");
    for (size_t i = 0; i < o->nin; i++) {
        struct input *in = &o->in[i];
        if (in->kind == IN_OBJ || in->kind == IN_LIB) {
            fprintf(stderr, "omcc: warning: %s%s: linker input unused because of -c\n",
                    in->kind == IN_LIB ? "-l" : "", in->arg);
            continue;
        }
        char *obj = o->output ? xstrdup(o->output) : object_name(in->arg);
        int r = compile_one(tc, o, in->arg, obj);
        free(obj);
        if (r)
            return -1;
    }
    return 0;
}

/* ---- libc the compiler tracker cannot follow ------------------------------ */

/* llvm-nm beside clang: clang-14 -> llvm-nm-14, /x/clang -> /x/llvm-nm. */
static char *nm_tool(const char *clang)
{
    const char *env = getenv("OMCC_NM");
    if (env && *env)
        return xstrdup(env);
    const char *b = base_name(clang);
    if (strncmp(b, "clang", 5) != 0)
        return xstrdup("llvm-nm");
    return xasprintf("%.*sllvm-nm%s", (int)(b - clang), clang, b + 5);
}

static int listed(const char *s, const char *const *list)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(s, list[i]) == 0)
            return 1;
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Names the app's objects and archives reference but do not define, that
 * are neither wrapped nor harmless (libc_cover.h), sorted and unique, into
 * out. The pass's own runtime calls (__om_*) are the runtime's. */
static int uncovered_refs(const struct toolchain *tc, const struct opts *o, struct strv *out)
{
    struct strv cmd = {0}, def = {0}, und = {0};
    char *nm = nm_tool(tc->clang), *text = NULL;
    strv_take(&cmd, nm);
    strv_push(&cmd, "-P");
    strv_push(&cmd, "-g");
    size_t files = 0;
    for (size_t i = 0; i < o->nin; i++)
        if (o->in[i].file) {
            strv_push(&cmd, o->in[i].file);
            files++;
        }
    int r = files ? capture(cmd.v, o->verbose, "warning", "set OMCC_NM to an llvm-nm executable", &text) : 0;
    strv_free(&cmd);
    if (r)
        return -1;
    /* "NAME TYPE [VALUE SIZE]" per symbol; "archive[member]:" headers. */
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = 0;
        char *sp = strchr(line, ' ');
        if (!sp || !sp[1] || line[strlen(line) - 1] == ':')
            continue;
        *sp = 0;
        char t = sp[1];
        strv_push(t == 'U' || t == 'w' || t == 'v' ? &und : &def, line);
    }
    free(text);
    qsort(def.v, def.n, sizeof *def.v, cmp_str);
    qsort(und.v, und.n, sizeof *und.v, cmp_str);
    for (size_t i = 0; i < und.n; i++) {
        const char *s = und.v[i];
        if ((i && strcmp(s, und.v[i - 1]) == 0) || strncmp(s, "__om_", 5) == 0 ||
            bsearch(&s, def.v, def.n, sizeof *def.v, cmp_str) || listed(s, wrapped_libc) ||
            listed(s, harmless_libc))
            continue;
        strv_push(out, s);
    }
    strv_free(&def);
    strv_free(&und);
    return 0;
}

/* An object whose section om_cc_uncov holds "OMCCUNC1" and the names: the
 * runtime (track_cc.c) then reports no compiler tracking, and `optmig
 * migrate` names them. Returns its path (owned) or NULL. */
static char *uncovered_object(const struct toolchain *tc, const struct opts *o, const struct strv *names)
{
    char *src = xasprintf("%s/om_cc_uncov.s", tmpdir), *obj = xasprintf("%s/om_cc_uncov.o", tmpdir);
    FILE *f = fopen(src, "w");
    if (!f) {
        error("%s: %s", src, strerror(errno));
        goto fail;
    }
    fputs("\t.section om_cc_uncov,\"a\"\n\t.ascii \"OMCCUNC1\"\n\t.asciz \"", f);
    for (size_t i = 0; i < names->n; i++) {
        if (i)
            fputc(' ', f);
        for (const char *c = names->v[i]; *c; c++) /* symbol names: keep them plain */
            fputc(strchr("\"\\\n", *c) ? '?' : *c, f);
    }
    fputs("\"\n", f);
    if (fclose(f)) {
        error("%s: %s", src, strerror(errno));
        goto fail;
    }
    struct strv cmd = {0};
    strv_push(&cmd, tc->clang);
    strv_push(&cmd, "-c");
    strv_push(&cmd, src);
    strv_push(&cmd, "-o");
    strv_push(&cmd, obj);
    int r = run(&cmd, o->verbose);
    strv_free(&cmd);
    if (r)
        goto fail;
    free(src);
    return obj;
fail:
    free(src);
    free(obj);
    return NULL;
}

/* With tracking compiled in: warns once naming the uncovered functions and
 * links the record of them into the image. If they cannot be listed, the
 * image is recorded as calling unknown ones (fail closed). */
static int check_libc_coverage(const struct toolchain *tc, struct opts *o)
{
    struct strv names = {0};
    if (!o->track)
        return 0;
    if (uncovered_refs(tc, o, &names)) {
        strv_free(&names);
        strv_push(&names, "unknown-libc-calls(llvm-nm-failed)");
    }
    if (!names.n)
        return 0;
    fputs("omcc: warning: the compiler tracker cannot follow what these libc functions read or "
          "write in app memory:",
          stderr);
    for (size_t i = 0; i < names.n; i++)
        fprintf(stderr, "%s %s", i ? "," : "", names.v[i]);
    fputs("; the image records this, so `optmig migrate --tracker auto` uses the kernel tracker "
          "for it and --tracker compiler is refused\n",
          stderr);
    char *obj = uncovered_object(tc, o, &names);
    strv_free(&names);
    if (!obj)
        return -1;
    add_input(o, IN_OBJ, obj);
    o->in[o->nin - 1].file = obj;
    return 0;
}

static int do_link(const struct toolchain *tc, struct opts *o)
{
    const char *out = o->output ? o->output : "a.out";
    unsigned k = 0;
    if (make_tmpdir())
        return -1;
    for (size_t i = 0; i < o->nin; i++) {
        struct input *in = &o->in[i];
        if (in->kind == IN_OBJ) {
            in->file = xstrdup(in->arg);
        } else if (in->kind == IN_LIB) {
            if (resolve_lib(o, in))
                return -1;
        } else {
            char *b = object_name(in->arg);
            in->file = xasprintf("%s/%u-%s", tmpdir, k++, b);
            free(b);
            if (compile_one(tc, o, in->arg, in->file))
                return -1;
        }
    }
    if (check_libc_coverage(tc, o))
        return -1;
    struct strv cmd = {0};
    link_argv(&cmd, tc, o, out);
    set_partial(out);
    int r = run(&cmd, o->verbose);
    strv_free(&cmd);
    if (r == 0)
        r = check_image(out);
    if (r)
        unlink(out);
    set_partial(NULL);
    return r;
}

int main(int argc, char **argv)
{
    struct opts o;
    struct toolchain tc = {0};
    int status = 1;
    memset(&o, 0, sizeof o);
    o.track = "dirty+access";
    o.polls = 1;
    install_signal_handlers();

    int p = parse_args(argc, argv, &o);
    if (p != PARSE_OK) {
        status = p == PARSE_EXIT ? 0 : 1;
        goto out;
    }
    tc.clang = getenv("OMCC_CLANG");
    if (!tc.clang || !*tc.clang)
        tc.clang = "clang-14";
    if (!o.compile_only &&
        !(tc.runtime = find_lib_file("libomrt.a", "trusted runtime",
                                     "set OMCC_RUNTIME_DIR to the directory holding libomrt.a")))
        goto out;
    if (instrumenting(&o) &&
        !(tc.plugin = find_lib_file("OptMigPass.so", "compiler pass plugin",
                                    "set OMCC_RUNTIME_DIR to the directory holding OptMigPass.so, "
                                    "or build without the pass: --track=none --no-polls")))
        goto out;
    if (o.verbose && tc.runtime)
        fprintf(stderr, "omcc: trusted runtime %s\n", tc.runtime);
    if (!(tc.resource_dir = clang_resource_dir(tc.clang, o.verbose)))
        goto out;
    if ((o.compile_only ? do_compile_only(&tc, &o) : do_link(&tc, &o)) == 0)
        status = 0;
out:
    remove_tmpdir();
    free(tc.resource_dir);
    free(tc.runtime);
    free(tc.plugin);
    free_opts(&o);
    return status;
}
