// releaseFreeMemory(): gives the C heap's free pages back to the system (glibc's malloc_trim).
// glibc returns freed memory to the system only from the top of its heap; memory freed in the
// middle (thousands of TLS connections' buffers, interleaved with longer-lived allocations) stays
// resident until malloc_trim asks the kernel to drop those pages. Elsewhere it does nothing.
#include <node_api.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

static napi_value ReleaseFreeMemory(napi_env env, napi_callback_info info) {
  (void)info;
  int released = 0;
#if defined(__GLIBC__)
  released = malloc_trim(0);
#endif
  napi_value result;
  napi_get_boolean(env, released != 0, &result);
  return result;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "releaseFreeMemory", NAPI_AUTO_LENGTH, ReleaseFreeMemory, NULL, &fn);
  napi_set_named_property(env, exports, "releaseFreeMemory", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
