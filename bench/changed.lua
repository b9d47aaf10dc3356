-- Why this exists: makes every wrk request a real change, so each is answered `good` after a durable
-- spool write (bench/run, "changed" phase). Each wrk thread rotates over its own HOSTS host names
-- (t<thread>-h<n>.dyn.example.com); each pass over them moves every host to the next address, so no
-- request repeats its host's last address. Answers are counted and printed by `done`.
-- The Authorization header comes from wrk's -H option (wrk.format adds wrk.headers).

local HOSTS = 1000
local threads = {}

function setup(thread)
    thread:set("thread_id", #threads)
    table.insert(threads, thread)
end

-- Per thread (each wrk thread has its own Lua state); globals so done() can read them.
thread_id = 0
sent = 0
good = 0
other = 0
sample = ""

-- 762 documentation addresses (203.0.113.1-254, 198.51.100.1-254, 192.0.2.1-254); consecutive
-- passes use different ones.
local function address(pass)
    local index = pass % 762
    local prefixes = { "203.0.113.", "198.51.100.", "192.0.2." }
    return prefixes[math.floor(index / 254) + 1] .. tostring(index % 254 + 1)
end

function request()
    local host = string.format("t%d-h%d.dyn.example.com", thread_id, sent % HOSTS)
    local ip = address(math.floor(sent / HOSTS))
    sent = sent + 1
    return wrk.format("GET", "/nic/update?hostname=" .. host .. "&myip=" .. ip)
end

function response(status, headers, body)
    if status == 200 and string.sub(body, 1, 5) == "good " then
        good = good + 1
    else
        other = other + 1
        if sample == "" then
            sample = tostring(status) .. " " .. string.gsub(body, "\n", " ")
        end
    end
end

function done(summary, latency, requests)
    local total_good, total_other, first = 0, 0, ""
    for _, thread in ipairs(threads) do
        total_good = total_good + thread:get("good")
        total_other = total_other + thread:get("other")
        if first == "" then
            first = thread:get("sample")
        end
    end
    io.write(string.format("answers: good=%d other=%d\n", total_good, total_other))
    if total_other > 0 then
        io.write("first other answer: " .. first .. "\n")
    end
end
