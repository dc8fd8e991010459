package gateway

// The node's Tox ID as a QR code, drawn on the server (rsc.io/qr), as SVG
// for the overview page and as PNG for anything that wants a bitmap.

import (
	"fmt"
	"net/http"
	"strings"

	"rsc.io/qr"
)

// dashQRQuiet is the quiet zone around a QR code, in modules (the
// standard asks for 4).
const dashQRQuiet = 4

// ToxURI returns the URI a QR code of a Tox ID carries: "tox:" and the 76
// hex digits, which Tox clients on phones scan to add a friend.
func ToxURI(id ToxID) string { return "tox:" + id.String() }

// encodeQR encodes a Tox ID at error correction level M.
func encodeQR(id ToxID) (*qr.Code, error) {
	return qr.Encode(ToxURI(id), qr.M)
}

// qrSVG renders a QR code as an SVG image: one path, a horizontal run of
// dark modules per subpath, on a white square with the quiet zone.
func qrSVG(c *qr.Code) []byte {
	n := c.Size + 2*dashQRQuiet
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" shape-rendering="crispEdges">`,
		n, n, 8*n, 8*n)
	b.WriteString(`<title>Tox ID QR code</title>`)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, n, n)
	for y := range c.Size {
		for x := 0; x < c.Size; {
			if !c.Black(x, y) {
				x++
				continue
			}
			run := 0
			for x+run < c.Size && c.Black(x+run, y) {
				run++
			}
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", x+dashQRQuiet, y+dashQRQuiet, run, run)
			x += run
		}
	}
	b.WriteString(`"/></svg>`)
	return []byte(b.String())
}

func (d *Dashboard) qrCode(w http.ResponseWriter) (*qr.Code, bool) {
	c, err := encodeQR(d.b.Identity().ToxID)
	if err != nil {
		d.log.Error("dashboard: encoding the QR code failed", "err", err)
		http.Error(w, "could not draw the QR code", http.StatusInternalServerError)
		return nil, false
	}
	return c, true
}

func (d *Dashboard) qrSVG(w http.ResponseWriter, r *http.Request, _ *dashSession) {
	c, ok := d.qrCode(w)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Write(qrSVG(c))
}

func (d *Dashboard) qrPNG(w http.ResponseWriter, r *http.Request, _ *dashSession) {
	c, ok := d.qrCode(w)
	if !ok {
		return
	}
	c.Scale = 8
	w.Header().Set("Content-Type", "image/png")
	w.Write(c.PNG())
}
