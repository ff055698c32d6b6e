package reports

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// assets are the files the dashboard loads, served by the service itself:
// ECharts 5.5.1 (echarts.min.js from "npm pack echarts@5.5.1", Apache-2.0,
// with its LICENSE, NOTICE and the d3 licence it refers to), the page's
// stylesheet, its script and its icon.
//
//go:embed assets/echarts.min.js assets/qbr.css assets/qbr.js assets/favicon.svg assets/echarts-LICENSE assets/echarts-NOTICE assets/echarts-LICENSE-d3
var assets embed.FS

// assetTag is a validator of the embedded assets: they change only with
// the binary.
var assetTag = func() string {
	h := sha256.New()
	_ = fs.WalkDir(assets, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := assets.ReadFile(p)
			h.Write([]byte(p))
			h.Write(b)
		}
		return nil
	})
	return `"` + hex.EncodeToString(h.Sum(nil))[:16] + `"`
}()

// AssetsHandler serves the dashboard's static files. Mount it at /assets/
// under the page's BaseURL, with the prefix stripped:
//
//	mux.Handle("/assets/", http.StripPrefix("/assets/", reports.AssetsHandler()))
//
// It serves only GET and HEAD, sets nosniff, a one-day cache with an ETag,
// and never lists a directory.
func AssetsHandler() http.Handler {
	sub, _ := fs.Sub(assets, "assets")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
		b, err := fs.ReadFile(sub, name)
		if name == "" || err != nil {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		switch path.Ext(name) {
		case ".js":
			h.Set("Content-Type", "text/javascript; charset=utf-8")
		case ".css":
			h.Set("Content-Type", "text/css; charset=utf-8")
		case ".svg":
			h.Set("Content-Type", "image/svg+xml")
		default:
			h.Set("Content-Type", "text/plain; charset=utf-8")
		}
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "public, max-age=86400")
		h.Set("ETag", assetTag)
		http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(b))
	})
}
