package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/cachetsync/cachet/record"
)

// Checkpointer remembers the last ledger position whose transitions were fully
// processed, so a follower resumes exactly after it.
type Checkpointer interface {
	// Last returns the last fully processed position; ok is false when
	// nothing was processed yet.
	Last() (pos record.Position, ok bool)
	// Save records pos as fully processed. It returns only once pos is
	// durable.
	Save(pos record.Position) error
}

// CorruptCheckpointError reports a checkpoint file that cannot be read back.
// It is never repaired silently: resuming from a guess could skip or repeat
// transitions.
type CorruptCheckpointError struct {
	Path string
	Err  error
}

func (e *CorruptCheckpointError) Error() string {
	return fmt.Sprintf("checkpoint %s is corrupt: %v", e.Path, e.Err)
}

func (e *CorruptCheckpointError) Unwrap() error { return e.Err }

// FileCheckpointer is a Checkpointer backed by one small JSON file. Each Save
// writes a temporary file, fsyncs it, renames it over the old one and fsyncs
// the directory, so after a crash the file holds either the old or the new
// position, never a torn write.
type FileCheckpointer struct {
	path string

	mu   sync.Mutex
	pos  record.Position
	have bool
}

type checkpointFile struct {
	V int `json:"v"`
	record.Position
}

// OpenFileCheckpointer opens (or, if absent, starts) the checkpoint at path.
func OpenFileCheckpointer(path string) (*FileCheckpointer, error) {
	c := &FileCheckpointer{path: path}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return c, nil
	case err != nil:
		return nil, fmt.Errorf("read checkpoint: %w", err)
	}
	var f checkpointFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, &CorruptCheckpointError{Path: path, Err: err}
	}
	if f.V != 1 {
		return nil, &CorruptCheckpointError{Path: path, Err: fmt.Errorf("unknown format version %d", f.V)}
	}
	c.pos, c.have = f.Position, true
	return c, nil
}

// Last implements Checkpointer.
func (c *FileCheckpointer) Last() (record.Position, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pos, c.have
}

// Save implements Checkpointer.
func (c *FileCheckpointer) Save(pos record.Position) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, err := json.Marshal(checkpointFile{V: 1, Position: pos})
	if err != nil {
		return err
	}
	if err := writeFileAtomic(c.path, b); err != nil {
		return fmt.Errorf("save checkpoint %s: %w", pos, err)
	}
	c.pos, c.have = pos, true
	return nil
}

func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// MemoryCheckpointer is an in-memory Checkpointer for tests and for
// followers that always start from a given position.
type MemoryCheckpointer struct {
	mu   sync.Mutex
	pos  record.Position
	have bool
}

// Last implements Checkpointer.
func (m *MemoryCheckpointer) Last() (record.Position, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.pos, m.have
}

// Save implements Checkpointer.
func (m *MemoryCheckpointer) Save(pos record.Position) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pos, m.have = pos, true
	return nil
}
