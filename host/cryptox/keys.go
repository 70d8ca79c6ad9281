package cryptox

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"math/big"
	"sync"
	"sync/atomic"

	"github.com/sluice-proxy/sluice/abi/cryptoabi"
)

// publicKey is a parsed public key: one of the three is set. It is never
// changed once made, so callers share it without a lock.
type publicKey struct {
	rsa *rsa.PublicKey
	ec  *ecdsa.PublicKey
	ed  ed25519.PublicKey
}

// keyCache keeps parsed public keys by their bytes, least recently used
// first out. There is one map per kind of key (RSA, each EC curve,
// Ed25519), so that the same bytes read as two kinds are two entries; RS*
// and PS* share RSA keys.
type keyCache struct {
	max int

	mu   sync.Mutex
	byID [5]map[string]*keyEntry // by keySlot
	lru  keyEntry                // sentinel of a circular list, most recent after it
	n    int

	parsed atomic.Uint64 // keys parsed, for tests
}

type keyEntry struct {
	id         string
	slot       int
	key        publicKey
	prev, next *keyEntry
}

func newKeyCache(max int) *keyCache {
	c := &keyCache{max: max}
	for i := range c.byID {
		c.byID[i] = map[string]*keyEntry{}
	}
	c.lru.prev, c.lru.next = &c.lru, &c.lru
	return c
}

// keySlot returns the map of alg's kind of key.
func keySlot(alg cryptoabi.Alg) int {
	switch alg {
	case cryptoabi.ES256:
		return 1
	case cryptoabi.ES384:
		return 2
	case cryptoabi.ES512:
		return 3
	case cryptoabi.EdDSA:
		return 4
	}
	return 0 // RS*, PS*
}

// get returns the parsed key of alg's family with these bytes, from the
// cache or parsed (and then kept).
func (c *keyCache) get(alg cryptoabi.Alg, b []byte) (publicKey, error) {
	slot := keySlot(alg)
	if c.max > 0 {
		c.mu.Lock()
		if e := c.byID[slot][string(b)]; e != nil {
			c.unlink(e)
			c.pushFront(e)
			c.mu.Unlock()
			return e.key, nil
		}
		c.mu.Unlock()
	}
	k, err := parseKey(alg, b)
	c.parsed.Add(1)
	if err != nil || c.max <= 0 {
		return k, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.byID[slot][string(b)]; e != nil { // another call parsed it meanwhile
		return e.key, nil
	}
	if c.n >= c.max {
		old := c.lru.prev
		c.unlink(old)
		delete(c.byID[old.slot], old.id)
		c.n--
	}
	e := &keyEntry{id: string(b), slot: slot, key: k}
	c.byID[slot][e.id] = e
	c.pushFront(e)
	c.n++
	return k, nil
}

func (c *keyCache) unlink(e *keyEntry) {
	e.prev.next, e.next.prev = e.next, e.prev
}

func (c *keyCache) pushFront(e *keyEntry) {
	e.prev, e.next = &c.lru, c.lru.next
	c.lru.next.prev = e
	c.lru.next = e
}

// len returns the number of keys kept.
func (c *keyCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

func curveOf(alg cryptoabi.Alg) elliptic.Curve {
	switch alg {
	case cryptoabi.ES256:
		return elliptic.P256()
	case cryptoabi.ES384:
		return elliptic.P384()
	case cryptoabi.ES512:
		return elliptic.P521()
	}
	return nil
}

// parseKey reads a public key in cryptoabi's form for alg.
func parseKey(alg cryptoabi.Alg, b []byte) (publicKey, error) {
	switch alg.Family() {
	case cryptoabi.FamilyRSA:
		n, e, err := cryptoabi.DecodeRSAKey(b)
		if err != nil {
			return publicKey{}, invalid("crypto verify %s: not an RSA key of %d to %d bits with an odd exponent below 2^31 (%d bytes)",
				alg, cryptoabi.MinRSABits, cryptoabi.MaxRSABits, len(b))
		}
		return publicKey{rsa: &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: e}}, nil
	case cryptoabi.FamilyECDSA:
		if len(b) != alg.ECKeySize() {
			return publicKey{}, invalid("crypto verify %s: EC key of %d bytes, want the %d-byte uncompressed point", alg, len(b), alg.ECKeySize())
		}
		k, err := ecdsa.ParseUncompressedPublicKey(curveOf(alg), b)
		if err != nil {
			return publicKey{}, invalid("crypto verify %s: not a point of the curve: %v", alg, err)
		}
		return publicKey{ec: k}, nil
	case cryptoabi.FamilyEdDSA:
		if len(b) != cryptoabi.Ed25519KeySize {
			return publicKey{}, invalid("crypto verify %s: Ed25519 key of %d bytes, want %d", alg, len(b), cryptoabi.Ed25519KeySize)
		}
		return publicKey{ed: ed25519.PublicKey(append([]byte(nil), b...))}, nil
	}
	return publicKey{}, invalid("crypto verify: no public key for algorithm %d", byte(alg))
}
