vcl 4.1;
# every response of the origin is cacheable (max-age=3600); the built-in VCL does the rest
backend origin {
  .host = "127.0.0.1";
  .port = "28080";
}
