// sendFile(): sends a region of an open file to a connected socket with sendfile(2), from a thread
// of its own, so no byte is copied through user space (a read into a buffer, then a write from it,
// cost five times the CPU per byte of nginx's sendfile on the benchmark machine).
//
// Both descriptors are duplicated before this returns: the transfer owns its copies, so neither
// Node closing the socket nor the caller's file cache closing the file can make its bytes go to
// another descriptor that reuses the number. The socket is non-blocking (libuv's): the thread waits
// for room with poll(2) and gives up after `timeoutMs` without progress, or within 100 ms of a
// cancel. `done(error, sent)` is called on the JavaScript thread once the thread is finished and
// its descriptors are closed. Linux only; elsewhere the addon is not built.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/sendfile.h>
#include <time.h>
#include <unistd.h>

/** Transfers under way at once: beyond it sendFile refuses (the caller streams instead). */
#define MAX_TRANSFERS 512
/** Bytes handed to one sendfile call. */
#define CHUNK (4 * 1024 * 1024)
/** The longest a thread waits for room before it looks at its cancel flag again. */
#define POLL_MS 100

static atomic_int active = 0;

typedef struct {
  int socket;
  int file;
  off_t offset;
  int64_t remaining;
  int64_t sent;
  int64_t timeout_ms;
  int error;
  atomic_int cancelled;
  /** Owners: the thread, and the JavaScript handle (its finalizer). Freed at zero. */
  atomic_int refs;
  napi_threadsafe_function done;
} transfer_t;

static void unref(transfer_t* transfer) {
  if (atomic_fetch_sub(&transfer->refs, 1) == 1) free(transfer);
}

static int64_t now_ms(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static void* run(void* arg) {
  transfer_t* transfer = arg;
  int64_t progressed = now_ms();
  while (transfer->remaining > 0) {
    if (atomic_load(&transfer->cancelled)) {
      transfer->error = ECANCELED;
      break;
    }
    size_t count = transfer->remaining > CHUNK ? CHUNK : (size_t)transfer->remaining;
    ssize_t written = sendfile(transfer->socket, transfer->file, &transfer->offset, count);
    if (written > 0) {
      transfer->remaining -= written;
      transfer->sent += written;
      progressed = now_ms();
      continue;
    }
    if (written == 0) {
      // The file is shorter than the region: never send fewer bytes as if complete.
      transfer->error = ENODATA;
      break;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      transfer->error = errno;
      break;
    }
    int64_t waited = now_ms() - progressed;
    if (waited >= transfer->timeout_ms) {
      transfer->error = ETIMEDOUT;
      break;
    }
    int wait = transfer->timeout_ms - waited < POLL_MS ? (int)(transfer->timeout_ms - waited)
                                                       : POLL_MS;
    struct pollfd room = {.fd = transfer->socket, .events = POLLOUT};
    poll(&room, 1, wait);
  }
  close(transfer->socket);
  close(transfer->file);
  atomic_fetch_sub(&active, 1);
  napi_call_threadsafe_function(transfer->done, transfer, napi_tsfn_blocking);
  napi_release_threadsafe_function(transfer->done, napi_tsfn_release);
  return NULL;
}

static void call_done(napi_env env, napi_value callback, void* context, void* data) {
  (void)context;
  transfer_t* transfer = data;
  if (env != NULL && callback != NULL) {
    napi_value args[2], undefined;
    napi_create_int32(env, transfer->error, &args[0]);
    napi_create_int64(env, transfer->sent, &args[1]);
    napi_get_undefined(env, &undefined);
    napi_call_function(env, undefined, callback, 2, args, NULL);
  }
  unref(transfer);
}

static void finalize_handle(napi_env env, void* data, void* hint) {
  (void)env;
  (void)hint;
  unref(data);
}

static napi_value throw_error(napi_env env, const char* message) {
  napi_throw_type_error(env, NULL, message);
  return NULL;
}

// sendFile(socketFd, fileFd, offset, length, timeoutMs, done): a handle for cancel(), or null when
// MAX_TRANSFERS are under way or a descriptor cannot be duplicated.
static napi_value SendFile(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 6) return throw_error(env, "sendFile needs 6 arguments");
  int32_t socket_fd, file_fd;
  int64_t offset, length, timeout_ms;
  if (napi_get_value_int32(env, argv[0], &socket_fd) != napi_ok ||
      napi_get_value_int32(env, argv[1], &file_fd) != napi_ok ||
      napi_get_value_int64(env, argv[2], &offset) != napi_ok ||
      napi_get_value_int64(env, argv[3], &length) != napi_ok ||
      napi_get_value_int64(env, argv[4], &timeout_ms) != napi_ok)
    return throw_error(env, "sendFile: descriptors, offset, length and timeout must be numbers");
  if (socket_fd < 0 || file_fd < 0 || offset < 0 || length < 0 || timeout_ms <= 0)
    return throw_error(env, "sendFile: out-of-range argument");
  napi_value null_value;
  napi_get_null(env, &null_value);
  if (atomic_fetch_add(&active, 1) >= MAX_TRANSFERS) {
    atomic_fetch_sub(&active, 1);
    return null_value;
  }
  transfer_t* transfer = calloc(1, sizeof(transfer_t));
  if (transfer == NULL) {
    atomic_fetch_sub(&active, 1);
    return null_value;
  }
  transfer->socket = fcntl(socket_fd, F_DUPFD_CLOEXEC, 0);
  transfer->file = fcntl(file_fd, F_DUPFD_CLOEXEC, 0);
  if (transfer->socket < 0 || transfer->file < 0) {
    if (transfer->socket >= 0) close(transfer->socket);
    if (transfer->file >= 0) close(transfer->file);
    free(transfer);
    atomic_fetch_sub(&active, 1);
    return null_value;
  }
  transfer->offset = (off_t)offset;
  transfer->remaining = length;
  transfer->timeout_ms = timeout_ms;
  atomic_init(&transfer->refs, 2);
  napi_value name;
  napi_create_string_utf8(env, "sendFile", NAPI_AUTO_LENGTH, &name);
  napi_value handle;
  pthread_attr_t attributes;
  pthread_attr_init(&attributes);
  pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attributes, 64 * 1024);
  pthread_t thread;
  if (napi_create_threadsafe_function(env, argv[5], NULL, name, 0, 1, NULL, NULL, NULL, call_done,
                                      &transfer->done) != napi_ok ||
      napi_create_external(env, transfer, finalize_handle, NULL, &handle) != napi_ok) {
    close(transfer->socket);
    close(transfer->file);
    free(transfer);
    atomic_fetch_sub(&active, 1);
    return throw_error(env, "sendFile: could not set up the transfer");
  }
  if (pthread_create(&thread, &attributes, run, transfer) != 0) {
    // The handle's finalizer and the completion each drop one reference.
    transfer->error = EAGAIN;
    close(transfer->socket);
    close(transfer->file);
    atomic_fetch_sub(&active, 1);
    napi_call_threadsafe_function(transfer->done, transfer, napi_tsfn_blocking);
    napi_release_threadsafe_function(transfer->done, napi_tsfn_release);
  }
  pthread_attr_destroy(&attributes);
  return handle;
}

// cancel(handle): the transfer stops within 100 ms; done() is still called (error ECANCELED).
static napi_value Cancel(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  void* data = NULL;
  if (argc < 1 || napi_get_value_external(env, argv[0], &data) != napi_ok || data == NULL)
    return throw_error(env, "cancel needs a sendFile handle");
  atomic_store(&((transfer_t*)data)->cancelled, 1);
  return NULL;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "sendFile", NAPI_AUTO_LENGTH, SendFile, NULL, &fn);
  napi_set_named_property(env, exports, "sendFile", fn);
  napi_create_function(env, "cancel", NAPI_AUTO_LENGTH, Cancel, NULL, &fn);
  napi_set_named_property(env, exports, "cancel", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
