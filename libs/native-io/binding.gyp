{
  "targets": [
    {
      "target_name": "native_io",
      "sources": ["src/native-io.c"],
      "cflags": ["-O2", "-Wall", "-pthread"],
      "ldflags": ["-pthread"]
    }
  ]
}
