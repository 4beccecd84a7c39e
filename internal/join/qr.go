package join

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strings"

	qr "github.com/piglig/go-qr"

	"github.com/jifen/jifen/internal/auth"
	"github.com/jifen/jifen/internal/failure"
)

// QR code images of a join link: the symbol is made by go-qr (a port of
// Nayuki's reference encoder) at error correction M, exactly (no boost),
// and drawn here from its module matrix, as PNG (image/png) or SVG.
const (
	QRMinSize     = 128
	QRMaxSize     = 2048
	QRDefaultSize = 512
	quietZone     = 4 // modules of white around the symbol, as the standard asks
)

// Matrix is a QR symbol's modules: Dark[y][x], without the quiet zone.
type Matrix struct {
	Size int
	Dark [][]bool
}

// Encode makes the QR symbol of text at error correction M.
func Encode(text string) (Matrix, error) {
	segs, err := qr.MakeSegments(text)
	if err != nil {
		return Matrix{}, fmt.Errorf("qr: %w", err)
	}
	code, err := qr.EncodeSegments(segs, qr.Medium, qr.MinVersion, qr.MaxVersion, -1, false)
	if err != nil {
		return Matrix{}, fmt.Errorf("qr: %w", err)
	}
	n := code.Size()
	m := Matrix{Size: n, Dark: make([][]bool, n)}
	for y := range n {
		m.Dark[y] = make([]bool, n)
		for x := range n {
			m.Dark[y][x] = code.Module(x, y)
		}
	}
	return m, nil
}

// CheckSize checks a requested image size in pixels (0: the default).
func CheckSize(size int) (int, error) {
	if size == 0 {
		return QRDefaultSize, nil
	}
	if size < QRMinSize || size > QRMaxSize {
		return 0, failure.Field("size", "must be %d to %d pixels", QRMinSize, QRMaxSize)
	}
	return size, nil
}

// PNG draws the matrix as a size×size black-on-white PNG: whole pixels
// per module, centred, the quiet zone (and any remainder) white.
func (m Matrix) PNG(size int) ([]byte, error) {
	img := image.NewPaletted(image.Rect(0, 0, size, size), color.Palette{color.White, color.Black})
	total := m.Size + 2*quietZone
	scale := size / total
	off := (size - scale*m.Size) / 2
	for y := range m.Size {
		for x := range m.Size {
			if !m.Dark[y][x] {
				continue
			}
			for dy := range scale {
				row := img.Pix[(off+y*scale+dy)*img.Stride:]
				for dx := range scale {
					row[off+x*scale+dx] = 1
				}
			}
		}
	}
	var b bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&b, img); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// SVG draws the matrix as an SVG of size×size pixels: one path of the
// dark runs of each row, in module units, on a white square.
func (m Matrix) SVG(size int) []byte {
	total := m.Size + 2*quietZone
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" shape-rendering="crispEdges">`,
		size, size, total, total)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, total, total)
	for y := range m.Size {
		for x := 0; x < m.Size; {
			if !m.Dark[y][x] {
				x++
				continue
			}
			run := 1
			for x+run < m.Size && m.Dark[y][x+run] {
				run++
			}
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", x+quietZone, y+quietZone, run, run)
			x += run
		}
	}
	b.WriteString(`"/></svg>`)
	return []byte(b.String())
}

// QR draws a join link's QR code (of its url) as "png" or "svg", size
// pixels a side (0: the default); another merchant's link is not found
// to a merchant key.
func (s *Service) QR(ctx context.Context, a auth.Actor, linkID, format string, size int) ([]byte, error) {
	size, err := CheckSize(size)
	if err != nil {
		return nil, err
	}
	l, err := s.GetLink(ctx, a, linkID)
	if err != nil {
		return nil, err
	}
	m, err := Encode(l.URL)
	if err != nil {
		return nil, err
	}
	if format == "svg" {
		return m.SVG(size), nil
	}
	return m.PNG(size)
}
