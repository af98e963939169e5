#!/usr/bin/python3
"""Where a TLS server's CPU goes in a handshake, from a perf profile.

usage: bench/hsprofile.py PERF.data HANDSHAKES CPU_SECONDS

PERF.data: `perf record -F 1500 --call-graph dwarf,16384 -p PID` of the
server while clients do full handshakes (openssl s_time -new); HANDSHAKES
and CPU_SECONDS: how many it did and the CPU it used (utime + stime of
/proc/PID/stat) in a run of its own, without perf.  Prints one row per part
of a handshake (the RSA signature, the key exchange, the client
certificate's parse and checks, the key schedule, the kernel, iphttps' own
code...) with its share of the samples and microseconds of CPU per
handshake (the share times CPU_SECONDS / HANDSHAKES), and of each, what its
innermost named function spent in OpenSSL 3.0's provider machinery, locks
and allocations (fetches, name maps, decoders, malloc/free, rwlocks).

Each sample goes to the first part (from the outside in) whose function is
on its call chain.  Debian's libssl and libcrypto carry no symbols for
their internal functions; a return address in them right after a call
through the PLT names the function called (objdump), which is how the
key exchange and the certificate parse inside libssl are told apart.
docs/performance.md, "Handshakes", has the figures and the commands.
"""
import collections
import re
import subprocess
import sys

LIBS = ('/usr/lib/x86_64-linux-gnu/libssl.so.3', '/usr/lib/x86_64-linux-gnu/libcrypto.so.3')


def plt_callees(lib):
    """{address - 1 of the instruction after a call through the PLT: callee}"""
    out, pend, ret = {}, None, {}
    dis = subprocess.run(['objdump', '-d', '--no-show-raw-insn', lib], capture_output=True, text=True).stdout
    for line in dis.splitlines():
        m = re.match(r'\s*([0-9a-f]+):\s+(\S+)\s*(.*)', line)
        if not m:
            continue
        addr = int(m.group(1), 16)
        if pend:
            ret['%x' % (addr - 1)] = pend     # perf shows return address - 1
            pend = None
        if m.group(2) == 'call' and '@plt>' in m.group(3):
            pend = m.group(3).split('<')[1].split('@plt>')[0]
    return ret


def samples(path):
    """Each sample's call chain, leaf first, as (function, object) pairs."""
    ret = {lib.rsplit('/', 1)[1]: plt_callees(lib) for lib in LIBS}
    script = subprocess.run(['perf', 'script', '-i', path, '-F', 'comm,tid,time,ip,sym,dso'],
                            capture_output=True, text=True, errors='replace').stdout
    cur = None
    for line in script.splitlines():
        if not line.strip():
            if cur:
                yield cur
            cur = None
            continue
        if not line[0].isspace():
            cur = []
            continue
        m = re.match(r'\s*([0-9a-f]+) (.*) \((.*)\)\s*$', line)
        if m and cur is not None:
            sym, dso = re.sub(r'\+0x[0-9a-f]+$', '', m.group(2)), m.group(3).rsplit('/', 1)[-1]
            if sym == '[unknown]':
                sym = '?' + m.group(1)
            callee = ret.get(dso, {}).get(m.group(1).lstrip('0'))
            if callee and cur and cur[-1][0] != callee:
                cur.append((callee, 'plt:' + dso))
            cur.append((sym, dso))
    if cur:
        yield cur


SIGN = {'EVP_DigestSignFinal', 'EVP_DigestSign', 'EVP_DigestSignInit_ex', 'EVP_PKEY_digestsign_supports_digest',
        'EVP_DigestSignUpdate', 'EVP_PKEY_sign',
        'EVP_PKEY_CTX_set_rsa_padding', 'EVP_PKEY_CTX_set_rsa_pss_saltlen', 'EVP_PKEY_CTX_set_signature_md'}
ECDHE = {'EVP_PKEY_generate', 'EVP_PKEY_keygen', 'EVP_PKEY_keygen_init', 'EVP_PKEY_derive', 'EVP_PKEY_derive_init_ex',
         'EVP_PKEY_derive_set_peer_ex', 'EVP_PKEY_derive_set_peer', 'EVP_PKEY_set1_encoded_public_key',
         'EVP_PKEY_get1_encoded_public_key', 'EVP_PKEY_paramgen', 'EVP_PKEY_copy_parameters', 'EVP_PKEY_CTX_new_from_name',
         'EVP_PKEY_fromdata', 'EVP_PKEY_new_raw_public_key_ex', 'EVP_PKEY_CTX_set_group_name', 'EVP_PKEY_paramgen_init',
         'EVP_PKEY_keygen_init', 'EVP_PKEY_CTX_set_params', 'EVP_PKEY_set_params'}
CERT_PARSE = {'ASN1_item_d2i_ex', 'd2i_X509', 'X509_new_ex', 'd2i_X509_NAME', 'ASN1_item_d2i'}
CERT_VERIFY = {'X509_verify_cert', 'X509_STORE_CTX_init', 'X509_STORE_CTX_new_ex', 'X509_STORE_CTX_set_default',
               'X509_STORE_CTX_free', 'X509_chain_up_ref', 'X509_STORE_CTX_set0_dane', 'X509_VERIFY_PARAM_set1',
               'X509_STORE_CTX_set_ex_data', 'X509_get_pubkey', 'X509_get0_pubkey', 'X509_free', 'X509_check_purpose'}
PEER_SIG = {'EVP_DigestVerifyFinal', 'EVP_DigestVerifyInit_ex', 'EVP_DigestVerify', 'EVP_DigestVerifyUpdate',
            'EVP_PKEY_verify'}
KDF = {'EVP_Q_mac', 'EVP_KDF_fetch', 'EVP_KDF_derive', 'EVP_KDF_CTX_new', 'EVP_KDF_CTX_free', 'HMAC_Init_ex',
       'HMAC_Final', 'HMAC_Update', 'HMAC_CTX_free', 'HMAC_CTX_new', 'EVP_MD_CTX_copy_ex', 'EVP_DigestFinal_ex',
       'EVP_DigestUpdate', 'EVP_DigestInit_ex', 'EVP_Digest', 'SHA256_Update', 'SHA512_Update', 'EVP_MD_CTX_free',
       'EVP_MD_CTX_new', 'EVP_MD_fetch', 'EVP_MD_get_size', 'EVP_MD_CTX_get0_md', 'EVP_MAC_CTX_new', 'EVP_MAC_init',
       'EVP_MAC_final', 'EVP_MAC_update', 'EVP_MAC_CTX_free', 'EVP_MAC_fetch', 'EVP_MD_free', 'EVP_MD_CTX_ctrl',
       'EVP_MD_get0_name', 'EVP_MD_CTX_get0_name', 'EVP_MD_is_a', 'EVP_DigestInit'}
RECORD = {'EVP_CipherInit_ex', 'EVP_EncryptUpdate', 'EVP_DecryptUpdate', 'EVP_CIPHER_CTX_ctrl', 'EVP_DecryptFinal_ex',
          'EVP_EncryptFinal_ex', 'EVP_CIPHER_CTX_new', 'EVP_CIPHER_CTX_free', 'EVP_CIPHER_fetch', 'EVP_CIPHER_CTX_reset',
          'EVP_CipherInit_ex2', 'EVP_CIPHER_CTX_set_params', 'EVP_CIPHER_CTX_get_params', 'EVP_CIPHER_free',
          'EVP_CIPHER_get_mode', 'EVP_CIPHER_CTX_get0_cipher'}
OURS_PARTS = {'ident_take': 'iphttps: client identity (ident.c)', 'stream_take_records': 'iphttps: record takeover',
              'rec_keylog_line': 'iphttps: record takeover', 'expand_label': 'iphttps: record takeover',
              'log_vmsg': 'iphttps: logging', 'log_info': 'iphttps: logging'}
OVER_LEAF = ('pthread_rwlock', 'CRYPTO_THREAD', 'rwlock', 'malloc', 'free', '_int_', 'unlink_chunk', 'tcache',
             'CRYPTO_zalloc', 'CRYPTO_malloc', 'CRYPTO_free', 'CRYPTO_strdup', 'CRYPTO_strndup', 'CRYPTO_memdup',
             'OPENSSL_LH_', 'OPENSSL_sk_', 'ossl_method', 'ossl_namemap', 'OSSL_DECODER', 'EVP_KEYMGMT', '_fetch',
             'OPENSSL_strcasecmp', 'ossl_lib_ctx', 'OSSL_PARAM', 'ossl_property', 'OSSL_PROVIDER', 'EVP_PKEY_CTX_new',
             'OPENSSL_cleanse', 'ERR_', 'ossl_decoder', 'CRYPTO_new_ex_data', 'CRYPTO_free_ex_data', 'memcpy', 'memmove',
             'memset', 'strcmp', 'strlen', 'CRYPTO_atomic', 'CRYPTO_UP_REF', 'CRYPTO_DOWN_REF', 'strcasecmp')

def part(st):
    leafdso = st[0][1]
    if leafdso == '[kernel.kallsyms]':
        user = next((s for s, d in st if d != '[kernel.kallsyms]'), None)
        if user is None or any(s.startswith('asm_sysvec') or s.startswith('asm_exc') for s, d in st):
            return 'kernel: interrupts, page faults, scheduling'
        for key, name in (('accept', 'accept'), ('write', 'TCP send'), ('send', 'TCP send'), ('read', 'TCP receive'),
                          ('recv', 'TCP receive'), ('epoll', 'epoll'), ('close', 'close'), ('setsockopt', 'setsockopt')):
            if key in user: return 'kernel: ' + name
        return 'kernel: other system calls (' + user + ')'
    for i, (s, d) in enumerate(reversed(st)):
        if s in OURS_PARTS: return OURS_PARTS[s]
        if s in SIGN: return 'RSA-2048 signature (server)'
        if s in ECDHE: return 'ECDHE key generation and derivation'
        if s in CERT_PARSE: return 'client certificate: parsing (d2i_X509)'
        if s in CERT_VERIFY: return 'client certificate: chain and CRL (X509_verify_cert)'
        if s in PEER_SIG: return "client certificate: its CertificateVerify (RSA verify)"
        if s in KDF: return 'key schedule and transcript (HKDF, HMAC, SHA-2)'
        if s in RECORD: return 'handshake records (AES-GCM)'
        if s == 'RAND_bytes_ex' or s == 'RAND_priv_bytes_ex': return 'random numbers'
        if s in ('__sprintf_chk', '___sprintf_chk') and d == 'plt:libssl.so.3':
            return 'OpenSSL: keylog lines (sprintf; for the takeover)'
        if s in ('SSL_new', 'SSL_free', 'SSL_clear', 'SSL_set_fd'): return 'OpenSSL: SSL_new/SSL_free'
    for s, d in st:
        if d.startswith('libssl') or d.startswith('libcrypto') or d.startswith('plt:'):
            return 'OpenSSL: state machine, extensions, buffers, other'
    return 'iphttps: event loop, connection, HTTP, other'

def kind(st):
    """what the leaf is doing"""
    for s, d in st:
        if d == '[kernel.kallsyms]': return 'kernel'
        if s.startswith('?'): continue
        if any(k in s for k in OVER_LEAF): return 'overhead'
        return 'work'
    return 'work'

def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__.split('\n\n')[1])
    path, n, cpu = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    per = cpu / n * 1e6
    c, o, tot = collections.Counter(), collections.Counter(), 0
    for st in samples(path):
        tot += 1
        p = part(st)
        c[p] += 1
        if kind(st) == 'overhead':
            o[p] += 1
    if not tot:
        sys.exit('hsprofile: no samples in %s' % path)
    print('%d samples; %d handshakes in %.2f s of server CPU: %.0f us a handshake' % (tot, n, cpu, per))
    print('%-56s %6s %6s %s' % ('part', 'share', 'us', 'of which fetch/lock/alloc, us'))
    for p, v in sorted(c.items(), key=lambda kv: -kv[1]):
        print('%-56s %5.1f%% %6.0f %6.0f' % (p, 100.0 * v / tot, per * v / tot, per * o[p] / tot))
    print('%-56s %5.1f%% %6.0f' % ('all of it in fetch/lock/alloc', 100.0 * sum(o.values()) / tot,
                                   per * sum(o.values()) / tot))


if __name__ == '__main__':
    main()
