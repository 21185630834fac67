"""A local RSS feed for the tests: feed text, and a web server on 127.0.0.1 that serves it with
an ETag and Last-Modified (304 to a matching conditional request) and the pages items link to.
Only a Fetcher built with LOOPBACK may reach it: production fetching refuses loopback."""

from __future__ import annotations

import email.utils
import http.server
import threading

from index import feeds

LOOPBACK = feeds.Fetcher(allowed=lambda ip: ip.is_loopback)

ITEM = """<item>
<title>{title}</title>
<link>{link}</link>
<guid>{guid}</guid>
<pubDate>{date}</pubDate>
{content}
</item>"""


def item(guid: str, title: str, day: str, text: str | None, link: str | None = None) -> str:
    content = f"<content:encoded><![CDATA[{text}]]></content:encoded>" if text else ""
    return ITEM.format(
        title=title,
        link=link or f"https://kyivwire.example/{guid}",
        guid=guid,
        date=day,
        content=content,
    )


def rss(*items: str, title: str = "Kyiv Wire") -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        f"<channel><title>{title}</title><link>https://kyivwire.example/</link>"
        "<description>news</description><language>en-gb</language>"
        + "".join(items)
        + "</channel></rss>"
    )


class FeedServer:
    """A local web server: the feed (with an ETag and Last-Modified, answering 304 to a matching
    conditional request) and the pages its items link to."""

    def __init__(self) -> None:
        self.feed = rss()
        self.feed_bytes: bytes | None = None  # sent instead of `feed` when set
        self.etag = '"v1"'
        self.pages: dict[str, str] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.fail = False
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append((self.path, dict(self.headers)))
                if server.fail:
                    self.send_response(503)
                    self.end_headers()
                    return
                if self.path == "/feed.xml":
                    if self.headers.get("If-None-Match") == server.etag:
                        self.send_response(304)
                        self.end_headers()
                        return
                    body = server.feed_bytes or server.feed.encode()
                    kind = "application/rss+xml"
                elif self.path in server.pages:
                    body, kind = server.pages[self.path].encode(), "text/html; charset=utf-8"
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("ETag", server.etag)
                self.send_header("Last-Modified", email.utils.formatdate(usegmt=True))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
