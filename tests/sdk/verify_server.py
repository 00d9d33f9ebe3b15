"""A Workspace imitation that checks each request's AK/SK signature with Huawei's official
Python SDK signer (huaweicloudsdkcore), independent of our Rust signer: it rebuilds the
request from what it received and signs it with the SDK, then compares the Authorization
header. Prints one JSON line per request. Used by tests/sdk/check.sh (run by CI).
"""
import json, sys, uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, parse_qsl
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer

AK, SK = "HPUAEXAMPLEAK0123456", "ExampleSecretKey0123456789abcdefghijklmn"
class Creds: ak = AK; sk = SK

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        auth = self.headers.get("Authorization", "")
        fields = dict(kv.split("=", 1) for kv in auth.split(" ", 1)[1].split(", "))
        signed = fields["SignedHeaders"].split(";")
        hdrs = {}
        for name in signed:
            hdrs[name] = self.headers.get(name)
        parts = urlsplit(self.path)
        req = SdkRequest(method="POST", schema="http", host=self.headers.get("Host"), resource_path=parts.path,
                         query_params=parse_qsl(parts.query, keep_blank_values=True), header_params=dict(hdrs), body=body)
        Signer(Creds).sign(req)
        ok = req.header_params["Authorization"] == auth
        text = json.loads(body)["notifications"]
        print(json.dumps({"ok": ok, "path": self.path, "text": text}, ensure_ascii=False), flush=True)
        out = json.dumps({"job_id": str(uuid.uuid4())} if ok else {"error_code": "APIGW.0301", "error_msg": "sig"}).encode()
        self.send_response(200 if ok else 401)
        self.send_header("Content-Type", "application/json"); self.send_header("Content-Length", str(len(out)))
        self.send_header("X-Request-Id", str(uuid.uuid4())); self.end_headers(); self.wfile.write(out)
    def log_message(self, *a): pass

ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
