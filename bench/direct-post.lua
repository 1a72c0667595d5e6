-- The portal call the gateway makes, sent straight to the sandbox portal.
wrk.method = "POST"
wrk.body = '{"id":13}'
wrk.headers["Content-Type"] = "application/json"
