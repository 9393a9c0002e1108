#!/usr/bin/env python3
"""A UPnP MediaRenderer for the end-to-end tests that refuses every video
it is sent with UPnP error 714 ("Illegal MIME-type"), as a TV does with a
file it does not play. It announces itself by NOTIFY and answers M-SEARCH
on one interface (multicast sent with IP_MULTICAST_IF naming it), serves
its description, and answers the AVTransport / RenderingControl actions a
control point reads.

Usage: fault_renderer.py IFACE_IP HTTP_PORT NAME   (runs until killed)
"""
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GROUP, SSDP_PORT = "239.255.255.250", 1900
RENDERER = "urn:schemas-upnp-org:device:MediaRenderer:1"


def main(ip, port, name):
    port = int(port)
    udn = f"uuid:fa017000-0000-4000-8000-{port:012d}"
    location = f"http://{ip}:{port}/desc.xml"
    description = f"""<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0"><specVersion><major>1</major><minor>0</minor></specVersion>
<device><deviceType>{RENDERER}</deviceType><friendlyName>{name}</friendlyName>
<manufacturer>Fault Works</manufacturer><modelName>Refuser</modelName><modelNumber>714</modelNumber>
<UDN>{udn}</UDN><serviceList>
<service><serviceType>urn:schemas-upnp-org:service:AVTransport:1</serviceType><serviceId>urn:upnp-org:serviceId:AVTransport</serviceId><SCPDURL>/avt.xml</SCPDURL><controlURL>/ctl</controlURL><eventSubURL>/evt</eventSubURL></service>
<service><serviceType>urn:schemas-upnp-org:service:RenderingControl:1</serviceType><serviceId>urn:upnp-org:serviceId:RenderingControl</serviceId><SCPDURL>/rc.xml</SCPDURL><controlURL>/ctl</controlURL><eventSubURL>/evt</eventSubURL></service>
</serviceList></device></root>""".encode()

    def envelope(body):
        return ('<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" '
                's:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>'
                f'{body}</s:Body></s:Envelope>').encode()

    answers = {
        "GetTransportInfo": "<CurrentTransportState>STOPPED</CurrentTransportState>"
                            "<CurrentTransportStatus>OK</CurrentTransportStatus><CurrentSpeed>1</CurrentSpeed>",
        "GetPositionInfo": "<Track>0</Track><TrackDuration>0:00:00</TrackDuration><RelTime>0:00:00</RelTime>",
        "GetVolume": "<CurrentVolume>10</CurrentVolume>",
    }

    class Device(BaseHTTPRequestHandler):
        def do_GET(self):
            self.reply(200, description if self.path == "/desc.xml" else b"", "text/xml")

        def do_POST(self):
            self.rfile.read(int(self.headers.get("content-length", "0")))
            action = self.headers.get("soapaction", "").strip('"').rsplit("#", 1)[-1]
            service = self.headers.get("soapaction", "").strip('"').rsplit("#", 1)[0]
            if action == "SetAVTransportURI":
                fault = ('<s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail>'
                         '<UPnPError xmlns="urn:schemas-upnp-org:control-1-0"><errorCode>714</errorCode>'
                         '<errorDescription>Illegal MIME-type</errorDescription></UPnPError></detail></s:Fault>')
                self.reply(500, envelope(fault), 'text/xml; charset="utf-8"')
                return
            body = f'<u:{action}Response xmlns:u="{service}">{answers.get(action, "")}</u:{action}Response>'
            self.reply(200, envelope(body), 'text/xml; charset="utf-8"')

        def reply(self, status, data, ctype):
            self.send_response(status)
            self.send_header("content-type", ctype)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    http = ThreadingHTTPServer((ip, port), Device)
    threading.Thread(target=http.serve_forever, daemon=True).start()

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("0.0.0.0", SSDP_PORT))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                    struct.pack("4s4s", socket.inet_aton(GROUP), socket.inet_aton(ip)))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(ip))
    head = f"CACHE-CONTROL: max-age=1800\r\nLOCATION: {location}\r\nSERVER: Linux/6 UPnP/1.0 fault/1\r\n"
    notify = (f"NOTIFY * HTTP/1.1\r\nHOST: {GROUP}:{SSDP_PORT}\r\n{head}NT: {RENDERER}\r\n"
              f"NTS: ssdp:alive\r\nUSN: {udn}::{RENDERER}\r\n\r\n").encode()
    answer = (f"HTTP/1.1 200 OK\r\n{head}EXT:\r\nST: {RENDERER}\r\n"
              f"USN: {udn}::{RENDERER}\r\n\r\n").encode()

    def announce():
        while True:
            sock.sendto(notify, (GROUP, SSDP_PORT))
            time.sleep(2)

    threading.Thread(target=announce, daemon=True).start()
    while True:
        data, sender = sock.recvfrom(2048)
        text = data.decode("latin-1")
        if text.startswith("M-SEARCH") and (RENDERER in text or "ssdp:all" in text):
            sock.sendto(answer, sender)


if __name__ == "__main__":
    main(*sys.argv[1:])
