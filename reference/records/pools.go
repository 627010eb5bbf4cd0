package records

import (
	"bytes"
	"compress/gzip"
	"sync"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// Decompressors are reused across batches: building one costs more than the small batches most
// producers send (lz4's block buffers, zstd's tables). sync.Pool lets the collector drop the
// idle ones, so a burst of compressed produce holds them only while it lasts.
var (
	gzipReaders sync.Pool // *gzip.Reader
	lz4Readers  = sync.Pool{New: func() any { return lz4.NewReader(nil) }}
	// zstdDecoders accept windows up to maxZstdWindow; a larger limit gets a decoder of its own.
	zstdDecoders = sync.Pool{New: func() any {
		d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(maxZstdWindow))
		if err != nil {
			return nil // only invalid options fail, and these are fixed
		}
		return d
	}}
)

func gunzip(src []byte, limit int) ([]byte, error) {
	zr, _ := gzipReaders.Get().(*gzip.Reader)
	var err error
	if zr == nil {
		zr, err = gzip.NewReader(bytes.NewReader(src))
	} else {
		err = zr.Reset(bytes.NewReader(src))
	}
	if err != nil {
		return nil, err
	}
	defer gzipReaders.Put(zr)
	return readLimited(zr, limit, sizeHint(CodecGzip, len(src), limit))
}

func unlz4(src []byte, limit int) ([]byte, error) {
	zr := lz4Readers.Get().(*lz4.Reader)
	defer lz4Readers.Put(zr)
	zr.Reset(bytes.NewReader(src))
	return readLimited(zr, limit, sizeHint(CodecLZ4, len(src), limit))
}

func unzstd(src []byte, limit int) ([]byte, error) {
	if window := uint64(max(maxZstdWindow, limit)); window > maxZstdWindow {
		zr, err := zstd.NewReader(bytes.NewReader(src), zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(window))
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		return readLimited(zr, limit, sizeHint(CodecZstd, len(src), limit))
	}
	zr, _ := zstdDecoders.Get().(*zstd.Decoder)
	if zr == nil {
		return nil, errZstdUnavailable
	}
	defer zstdDecoders.Put(zr)
	if err := zr.Reset(bytes.NewReader(src)); err != nil {
		return nil, err
	}
	return readLimited(zr, limit, sizeHint(CodecZstd, len(src), limit))
}
