{
  # The shim's native helper: the few syscalls Node lacks (see native/src/native.cc).
  "targets": [
    {
      "target_name": "containerd_ts_native",
      "sources": ["src/native.cc"],
      # node-addon-api with C++ exceptions on: Napi::Error is thrown, std::thread may throw.
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra"],
      "libraries": ["-lpthread"]
    }
  ]
}
