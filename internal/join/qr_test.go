package join

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// decode reads a QR code image with ZXing's decoder (an independent
// implementation): the text and the error correction level.
func decode(t *testing.T, img image.Image) (string, string) {
	t.Helper()
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return res.GetText(), fmt.Sprint(res.GetResultMetadata()[gozxing.ResultMetadataType_ERROR_CORRECTION_LEVEL])
}

func TestQRRoundTrip(t *testing.T) {
	const url = "https://jifen.example.com/m/join?l=jnl_01JF3Q8Z4X9Y2W7V6T5S4R3Q2P"
	m, err := Encode(url)
	if err != nil {
		t.Fatal(err)
	}
	// The size of a version v symbol is 17+4v modules.
	if (m.Size-17)%4 != 0 || m.Size < 21 {
		t.Fatalf("symbol of %d modules", m.Size)
	}
	for _, size := range []int{QRMinSize, QRDefaultSize, 1000, QRMaxSize} {
		b, err := m.PNG(size)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("size %d: not a PNG: %v", size, err)
		}
		if r := img.Bounds(); r.Dx() != size || r.Dy() != size {
			t.Fatalf("PNG is %v, want %d×%d", r, size, size)
		}
		text, ecl := decode(t, img)
		if text != url || ecl != "M" {
			t.Fatalf("size %d decodes as %q at level %s", size, text, ecl)
		}
	}
	svg := string(m.SVG(300))
	if !strings.HasPrefix(svg, `<svg xmlns="http://www.w3.org/2000/svg" width="300" height="300"`) ||
		!strings.Contains(svg, fmt.Sprintf(`viewBox="0 0 %d %d"`, m.Size+8, m.Size+8)) || !strings.HasSuffix(svg, "</svg>") {
		t.Fatalf("svg %.200s", svg)
	}
}

func TestQRSize(t *testing.T) {
	for size, ok := range map[int]bool{0: true, 127: false, 128: true, 2048: true, 2049: false, -1: false} {
		if _, err := CheckSize(size); (err == nil) != ok {
			t.Errorf("CheckSize(%d): %v", size, err)
		}
	}
}

func BenchmarkQRPNG(b *testing.B) {
	for b.Loop() {
		m, err := Encode("https://jifen.example.com/m/join?l=jnl_01JF3Q8Z4X9Y2W7V6T5S4R3Q2P")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := m.PNG(QRDefaultSize); err != nil {
			b.Fatal(err)
		}
	}
}
