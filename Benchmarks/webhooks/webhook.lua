-- wrk script for scripts/bench webhooks: every request is a new, validly signed Vercel event
-- (deployment.created for the bench's linked project), signed with HMAC-SHA1 as Vercel signs.
local bit = require("bit")
local band, bor, bxor, bnot, rol, lshift, rshift, tobit, tohex =
  bit.band, bit.bor, bit.bxor, bit.bnot, bit.rol, bit.lshift, bit.rshift, bit.tobit, bit.tohex

local function sha1(message)
  local h0, h1, h2, h3, h4 = 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0
  local bits = #message * 8
  message = message .. "\128" .. string.rep("\0", (55 - #message) % 64)
    .. string.char(0, 0, 0, 0, band(rshift(bits, 24), 255), band(rshift(bits, 16), 255), band(rshift(bits, 8), 255), band(bits, 255))
  local w = {}
  for chunk = 1, #message, 64 do
    for i = 0, 15 do
      local a, b, c, d = message:byte(chunk + i * 4, chunk + i * 4 + 3)
      w[i] = bor(lshift(a, 24), lshift(b, 16), lshift(c, 8), d)
    end
    for i = 16, 79 do w[i] = rol(bxor(w[i - 3], w[i - 8], w[i - 14], w[i - 16]), 1) end
    local a, b, c, d, e = h0, h1, h2, h3, h4
    for i = 0, 79 do
      local f, k
      if i < 20 then f, k = bor(band(b, c), band(bnot(b), d)), 0x5A827999
      elseif i < 40 then f, k = bxor(b, c, d), 0x6ED9EBA1
      elseif i < 60 then f, k = bor(band(b, c), band(b, d), band(c, d)), 0x8F1BBCDC
      else f, k = bxor(b, c, d), 0xCA62C1D6 end
      local t = tobit(rol(a, 5) + f + e + k + w[i])
      e, d, c, b, a = d, c, rol(b, 30), a, t
    end
    h0, h1, h2, h3, h4 = tobit(h0 + a), tobit(h1 + b), tobit(h2 + c), tobit(h3 + d), tobit(h4 + e)
  end
  local out = {}
  for _, h in ipairs({ h0, h1, h2, h3, h4 }) do
    out[#out + 1] = string.char(band(rshift(h, 24), 255), band(rshift(h, 16), 255), band(rshift(h, 8), 255), band(h, 255))
  end
  return table.concat(out)
end

local function hmac_sha1_hex(key, message)
  if #key > 64 then key = sha1(key) end
  key = key .. string.rep("\0", 64 - #key)
  local inner, outer = {}, {}
  for i = 1, 64 do
    local byte = key:byte(i)
    inner[i] = string.char(bxor(byte, 0x36))
    outer[i] = string.char(bxor(byte, 0x5c))
  end
  local digest = sha1(table.concat(outer) .. sha1(table.concat(inner) .. message))
  return (digest:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

local secret = os.getenv("BENCH_WEBHOOK_SECRET")
local project = os.getenv("BENCH_VERCEL_PROJECT") or "prj_bench"
local run = os.getenv("BENCH_RUN") or "run"
local counter = 0
math.randomseed(os.time())

-- Each thread gets its own tag (set in its Lua state), unique across threads and runs.
function setup(thread)
  thread:set("thread_tag", tostring(os.time()) .. "_" .. tostring(math.random(1, 1e9)))
end

function request()
  counter = counter + 1
  local id = "wrk_" .. run .. "_" .. thread_tag .. "_" .. counter
  local body = '{"createdAt":1790000000000,"id":"evt_' .. id .. '","payload":{"deployment":{"id":"dpl_' .. id
    .. '","meta":{},"name":"bench","url":"bench.vercel.app"},"project":{"id":"' .. project .. '"},"target":null},"region":"iad1","type":"deployment.created"}'
  return wrk.format("POST", "/v1/webhooks/vercel",
    { ["Content-Type"] = "application/json", ["x-vercel-signature"] = hmac_sha1_hex(secret, body) }, body)
end
