// Emulation harness of the memory-mapped kernel fpgagen_kernel (fpgagen.sim.kernel_emu).
//
// The Verilated kernel runs against a C++ model of DDR memory on its AXI4 master and a C++
// AXI4-Lite master on its control port; a line protocol on stdin/stdout drives it, so no
// Python runs per clock cycle. Requests (numbers in hex unless noted), one per line:
//
//   W off val            AXI-Lite write of a register              -> "ok"
//   R off                AXI-Lite read (reading CTRL clears ap_done) -> "<value>"
//   M addr hexbytes      write bytes into the memory                 -> "ok"
//   MF addr nbytes path  write bytes from a file into the memory     -> "ok"
//   D addr nbytes        read bytes of the memory                    -> "<hexbytes>"
//   DF addr nbytes path  dump bytes of the memory into a file        -> "ok"
//   S cycles             advance the clock                           -> "ok <cycle>"
//   IRQ maxcycles        advance until the interrupt output is high  -> "ok <cycle>" | "timeout <cycle>"
//   POLL maxcycles       read CTRL (as a polling driver) until ap_done -> "ok <cycle>" | "timeout <cycle>"
//   C                    cycles since reset                          -> "<cycle>" (decimal)
//   STATS                memory-side counters                        -> "key=value ..."
//   Q                    quit
//
// Memory model (options on the command line): sparse byte memory; every burst's data or
// response is available `--latency` cycles after its address was accepted; up to
// `--outstanding` read and write bursts are accepted; with `--stall P` (per mille) every
// ready/valid the memory drives is withheld in a cycle with probability P (xorshift, seeded
// by `--seed`); bursts touching [--error-lo, --error-hi) get SLVERR (reads return zeros,
// writes are dropped). Protocol checks (4 KB crossing, WLAST position, W before AW, size)
// are counted in STATS as violations.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <iostream>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "Vfpgagen_kernel.h"
#include "verilated.h"

// Verilator renames the port `interrupt` (a common C++ word) to __SYM__interrupt

#ifndef BUS_BYTES
#error "compile with -DBUS_BYTES=<bus width in bytes>"
#endif

static Vfpgagen_kernel* top;
static uint64_t cycle_count = 0;
static uint64_t rng_state = 88172645463325252ULL;

static uint64_t rnd() {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

// ---- options -------------------------------------------------------------------------------
static uint64_t opt_latency = 20;
static unsigned opt_stall = 0;  // per mille
static unsigned opt_outstanding = 8;
static uint64_t err_lo = 0, err_hi = 0;

static bool stall() { return opt_stall && (rnd() % 1000) < opt_stall; }
static bool in_error(uint64_t a, uint64_t n) { return a < err_hi && a + n > err_lo; }

// ---- sparse memory ---------------------------------------------------------------------------
static std::unordered_map<uint64_t, std::vector<uint8_t>> pages;

static uint8_t* page(uint64_t addr) {
    auto& p = pages[addr >> 12];
    if (p.empty()) p.assign(4096, 0);
    return p.data();
}
static void mem_write(uint64_t a, const uint8_t* src, uint64_t n) {
    for (uint64_t i = 0; i < n; i++) page(a + i)[(a + i) & 4095] = src[i];
}
static void mem_read(uint64_t a, uint8_t* dst, uint64_t n) {
    for (uint64_t i = 0; i < n; i++) {
        auto it = pages.find((a + i) >> 12);
        dst[i] = it == pages.end() ? 0 : it->second[(a + i) & 4095];
    }
}

// ---- bus signals of any width ----------------------------------------------------------------
template <typename T> static void set_bus(T& s, const uint8_t* p) {
    T v = 0;
    memcpy(&v, p, sizeof(T) < BUS_BYTES ? sizeof(T) : BUS_BYTES);
    s = v;
}
template <std::size_t N> static void set_bus(VlWide<N>& s, const uint8_t* p) {
    for (std::size_t i = 0; i < N; i++) {
        uint32_t v = 0;
        memcpy(&v, p + 4 * i, 4);
        s[i] = v;
    }
}
template <typename T> static void get_bus(const T& s, uint8_t* p) {
    T v = s;
    memcpy(p, &v, sizeof(T) < BUS_BYTES ? sizeof(T) : BUS_BYTES);
}
template <std::size_t N> static void get_bus(const VlWide<N>& s, uint8_t* p) {
    for (std::size_t i = 0; i < N; i++) {
        uint32_t v = s[i];
        memcpy(p + 4 * i, &v, 4);
    }
}
template <typename T> static bool get_bit(const T& s, int i) { return (s >> i) & 1; }
template <std::size_t N> static bool get_bit(const VlWide<N>& s, int i) {
    return (s[i / 32] >> (i % 32)) & 1;
}

// ---- memory-side AXI4 state ------------------------------------------------------------------
struct Burst {
    uint64_t addr;
    unsigned len;  // beats
    unsigned beat;
    uint64_t ready_at;
    bool error;
};
static std::deque<Burst> rq, wq;  // accepted read bursts; accepted write bursts awaiting data
static std::deque<std::pair<uint64_t, bool>> bq;  // write responses: ready_at, error
static bool rvalid_reg = false, bvalid_reg = false;
static uint8_t rbuf[BUS_BYTES];
static uint64_t st_ar = 0, st_aw = 0, st_rbeats = 0, st_wbeats = 0, st_viol = 0;
static uint64_t st_max_rq = 0, st_max_wq = 0, st_rerr = 0, st_werr = 0;
static std::string first_violation;

static void violation(const std::string& what) {
    if (st_viol++ == 0) first_violation = what;
}

static void check_burst(const char* ch, uint64_t addr, unsigned len, unsigned size) {
    if ((1u << size) != BUS_BYTES) violation(std::string(ch) + " size");
    if (addr % BUS_BYTES) violation(std::string(ch) + " unaligned address");
    if ((addr >> 12) != ((addr + (uint64_t)len * BUS_BYTES - 1) >> 12))
        violation(std::string(ch) + " burst crosses a 4 KB boundary");
}

// control-side AXI-Lite master inputs, set by the register helpers
static void lite_idle() {
    top->s_axi_control_awvalid = 0;
    top->s_axi_control_wvalid = 0;
    top->s_axi_control_bready = 0;
    top->s_axi_control_arvalid = 0;
    top->s_axi_control_rready = 0;
}

// One clock cycle: drive the memory side, evaluate, take the handshakes, clock edge.
static void tick() {
    // memory outputs for this cycle
    top->m_axi_gmem_arready = rq.size() < opt_outstanding && !stall();
    top->m_axi_gmem_awready = wq.size() < opt_outstanding && !stall();
    top->m_axi_gmem_wready = !wq.empty() && !stall();
    if (!rvalid_reg && !rq.empty() && rq.front().ready_at <= cycle_count && !stall()) {
        Burst& b = rq.front();
        if (b.error) memset(rbuf, 0, BUS_BYTES);
        else mem_read(b.addr + (uint64_t)b.beat * BUS_BYTES, rbuf, BUS_BYTES);
        rvalid_reg = true;
    }
    top->m_axi_gmem_rvalid = rvalid_reg;
    if (rvalid_reg) {
        set_bus(top->m_axi_gmem_rdata, rbuf);
        top->m_axi_gmem_rresp = rq.front().error ? 2 : 0;
        top->m_axi_gmem_rlast = rq.front().beat + 1 == rq.front().len;
    }
    if (!bvalid_reg && !bq.empty() && bq.front().first <= cycle_count && !stall()) bvalid_reg = true;
    top->m_axi_gmem_bvalid = bvalid_reg;
    top->m_axi_gmem_bresp = bvalid_reg && bq.front().second ? 2 : 0;

    top->ap_clk = 0;
    top->eval();

    // handshakes (sampled before the rising edge)
    bool ar = top->m_axi_gmem_arvalid && top->m_axi_gmem_arready;
    bool aw = top->m_axi_gmem_awvalid && top->m_axi_gmem_awready;
    bool w = top->m_axi_gmem_wvalid && top->m_axi_gmem_wready;
    bool r = rvalid_reg && top->m_axi_gmem_rready;
    bool b = bvalid_reg && top->m_axi_gmem_bready;
    if (ar) {
        uint64_t a = top->m_axi_gmem_araddr;
        unsigned len = top->m_axi_gmem_arlen + 1u;
        check_burst("AR", a, len, top->m_axi_gmem_arsize);
        if (top->m_axi_gmem_arburst != 1) violation("AR burst type not INCR");
        bool e = in_error(a, (uint64_t)len * BUS_BYTES);
        st_rerr += e;
        rq.push_back({a, len, 0, cycle_count + opt_latency, e});
        st_ar++;
        if (rq.size() > st_max_rq) st_max_rq = rq.size();
    }
    if (aw) {
        uint64_t a = top->m_axi_gmem_awaddr;
        unsigned len = top->m_axi_gmem_awlen + 1u;
        check_burst("AW", a, len, top->m_axi_gmem_awsize);
        if (top->m_axi_gmem_awburst != 1) violation("AW burst type not INCR");
        bool e = in_error(a, (uint64_t)len * BUS_BYTES);
        st_werr += e;
        wq.push_back({a, len, 0, 0, e});
        st_aw++;
        if (wq.size() > st_max_wq) st_max_wq = wq.size();
    }
    if (w) {
        Burst& wb = wq.front();  // wready is only high with a burst waiting for data
        uint8_t data[BUS_BYTES];
        get_bus(top->m_axi_gmem_wdata, data);
        uint64_t a = wb.addr + (uint64_t)wb.beat * BUS_BYTES;
        if (!wb.error)
            for (int i = 0; i < BUS_BYTES; i++)
                if (get_bit(top->m_axi_gmem_wstrb, i)) mem_write(a + i, data + i, 1);
        bool last = wb.beat + 1 == wb.len;
        if ((bool)top->m_axi_gmem_wlast != last) violation("WLAST not on the last beat");
        st_wbeats++;
        if (++wb.beat == wb.len) {
            bq.push_back({cycle_count + opt_latency, wb.error});
            wq.pop_front();
        }
    }
    if (r) {
        st_rbeats++;
        if (++rq.front().beat == rq.front().len) rq.pop_front();
        rvalid_reg = false;
    }
    if (b) {
        bq.pop_front();
        bvalid_reg = false;
    }
    top->ap_clk = 1;
    top->eval();
    cycle_count++;
}

// ---- AXI-Lite master: the transactions a driver makes --------------------------------------
static void reg_write(uint32_t off, uint32_t val) {
    top->s_axi_control_awaddr = off;
    top->s_axi_control_wdata = val;
    top->s_axi_control_wstrb = 0xF;
    bool aw_done = false, w_done = false;
    while (!(aw_done && w_done)) {
        top->s_axi_control_awvalid = !aw_done;
        top->s_axi_control_wvalid = !w_done;
        top->ap_clk = 0;
        top->eval();
        bool a = top->s_axi_control_awvalid && top->s_axi_control_awready;
        bool d = top->s_axi_control_wvalid && top->s_axi_control_wready;
        tick();
        aw_done |= a;
        w_done |= d;
    }
    top->s_axi_control_awvalid = 0;
    top->s_axi_control_wvalid = 0;
    top->s_axi_control_bready = 1;
    for (;;) {
        top->ap_clk = 0;
        top->eval();
        bool bh = top->s_axi_control_bvalid;
        tick();
        if (bh) break;
    }
    lite_idle();
}

static uint32_t reg_read(uint32_t off) {
    top->s_axi_control_araddr = off;
    top->s_axi_control_arvalid = 1;
    for (;;) {
        top->ap_clk = 0;
        top->eval();
        bool a = top->s_axi_control_arready;
        tick();
        if (a) break;
    }
    top->s_axi_control_arvalid = 0;
    top->s_axi_control_rready = 1;
    uint32_t v = 0;
    for (;;) {
        top->ap_clk = 0;
        top->eval();
        bool rv = top->s_axi_control_rvalid;
        v = top->s_axi_control_rdata;
        tick();
        if (rv) break;
    }
    lite_idle();
    return v;
}

static std::string hexbytes(const uint8_t* p, uint64_t n) {
    static const char* d = "0123456789abcdef";
    std::string s(2 * n, '0');
    for (uint64_t i = 0; i < n; i++) {
        s[2 * i] = d[p[i] >> 4];
        s[2 * i + 1] = d[p[i] & 15];
    }
    return s;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int main(int argc, char** argv) {
    Verilated::commandArgs(argc, argv);
    uint64_t seed = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string k = argv[i];
        uint64_t v = strtoull(argv[i + 1], nullptr, 0);
        if (k == "--latency") opt_latency = v;
        else if (k == "--stall") opt_stall = (unsigned)v;
        else if (k == "--seed") seed = v;
        else if (k == "--outstanding") opt_outstanding = v ? (unsigned)v : 1;
        else if (k == "--error-lo") err_lo = v;
        else if (k == "--error-hi") err_hi = v;
    }
    rng_state ^= seed * 0x9E3779B97F4A7C15ULL;
    if (!rng_state) rng_state = 1;
    top = new Vfpgagen_kernel;
    lite_idle();
    top->m_axi_gmem_rvalid = 0;
    top->m_axi_gmem_bvalid = 0;
    top->ap_rst_n = 0;
    for (int i = 0; i < 8; i++) tick();
    top->ap_rst_n = 1;
    tick();
    cycle_count = 0;
    std::cout << "ready" << std::endl;

    std::string line;
    while (std::getline(std::cin, line)) {
        std::istringstream in(line);
        std::string cmd;
        in >> cmd;
        if (cmd == "W") {
            uint32_t off, val;
            in >> std::hex >> off >> val;
            reg_write(off, val);
            std::cout << "ok" << std::endl;
        } else if (cmd == "R") {
            uint32_t off;
            in >> std::hex >> off;
            std::cout << std::hex << reg_read(off) << std::dec << std::endl;
        } else if (cmd == "M") {
            uint64_t a;
            std::string h;
            in >> std::hex >> a >> h;
            std::vector<uint8_t> buf(h.size() / 2);
            for (size_t i = 0; i < buf.size(); i++)
                buf[i] = (uint8_t)(hexval(h[2 * i]) * 16 + hexval(h[2 * i + 1]));
            mem_write(a, buf.data(), buf.size());
            std::cout << "ok" << std::endl;
        } else if (cmd == "MF" || cmd == "DF") {
            uint64_t a, n;
            std::string path;
            in >> std::hex >> a >> n;
            in >> path;
            std::vector<uint8_t> buf(n);
            FILE* f = fopen(path.c_str(), cmd == "MF" ? "rb" : "wb");
            if (!f) {
                std::cout << "error cannot open " << path << std::endl;
                continue;
            }
            if (cmd == "MF") {
                size_t got = fread(buf.data(), 1, n, f);
                mem_write(a, buf.data(), got);
            } else {
                mem_read(a, buf.data(), n);
                fwrite(buf.data(), 1, n, f);
            }
            fclose(f);
            std::cout << "ok" << std::endl;
        } else if (cmd == "D") {
            uint64_t a, n;
            in >> std::hex >> a >> n;
            std::vector<uint8_t> buf(n);
            mem_read(a, buf.data(), n);
            std::cout << hexbytes(buf.data(), n) << std::endl;
        } else if (cmd == "S") {
            uint64_t n;
            in >> std::hex >> n;
            for (uint64_t i = 0; i < n; i++) tick();
            std::cout << "ok " << std::hex << cycle_count << std::dec << std::endl;
        } else if (cmd == "IRQ") {
            uint64_t n, i = 0;
            in >> std::hex >> n;
            for (; i < n && !top->__SYM__interrupt; i++) tick();
            std::cout << (top->__SYM__interrupt ? "ok " : "timeout ") << std::hex << cycle_count
                      << std::dec << std::endl;
        } else if (cmd == "POLL") {
            uint64_t n;
            in >> std::hex >> n;
            uint64_t end = cycle_count + n;
            bool done = false;
            while (!done && cycle_count < end) done = (reg_read(0) >> 1) & 1;
            std::cout << (done ? "ok " : "timeout ") << std::hex << cycle_count << std::dec
                      << std::endl;
        } else if (cmd == "C") {
            std::cout << cycle_count << std::endl;
        } else if (cmd == "STATS") {
            std::cout << "ar_bursts=" << st_ar << " aw_bursts=" << st_aw
                      << " r_beats=" << st_rbeats << " w_beats=" << st_wbeats
                      << " max_reads_outstanding=" << st_max_rq
                      << " max_writes_outstanding=" << st_max_wq
                      << " read_error_bursts=" << st_rerr << " write_error_bursts=" << st_werr
                      << " violations=" << st_viol << " first_violation="
                      << (first_violation.empty() ? "none" : first_violation) << std::endl;
        } else if (cmd == "Q") {
            break;
        } else if (!cmd.empty()) {
            std::cout << "error unknown request " << cmd << std::endl;
        }
    }
    top->final();
    delete top;
    return 0;
}
