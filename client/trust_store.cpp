#include "client/trust_store.hpp"

#include <cereal/archives/json.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/string.hpp>
#include <sstream>

#include "common/key_store.hpp"
#include "protocol/hex.hpp"
#include "protocol/identity.hpp"

namespace tpdp {

TrustStore::TrustStore(std::filesystem::path file) : file_(std::move(file)) {
  // Checked like a key file (common/key_store.hpp), except that others may read it.
  auto text = read_trusted_file(file_, kMaxFileSize, FileSecrecy::public_read, "known pools file");
  if (!text) return;
  std::istringstream in(std::string(text->begin(), text->end()));
  try {
    cereal::JSONInputArchive archive(in);
    archive(cereal::make_nvp("pools", pools_));
  } catch (const std::exception& e) {
    throw std::runtime_error(
        "known pools file " + file_.string() +
        " is corrupt: not the JSON this program writes ({\"pools\": [{\"key\": \"HOST:PORT\", "
        "\"value\": \"FINGERPRINT\"}, ...]}; " +
        e.what() + "); fix or remove it");
  }
  // Fingerprints as section 4.2 has them: 64 hex digits, upper case accepted
  // (kept in lower case, the form they are compared in).
  for (auto& [address, fp] : pools_) {
    auto key = public_from_hex<IdentityPublicKey>(fp);
    if (!key) {
      throw std::runtime_error("known pools file " + file_.string() + ": the entry for " + address +
                               " is not a fingerprint (64 hex digits); fix or remove it");
    }
    fp = fingerprint(*key);
  }
}

std::string TrustStore::remembered(const std::string& address) const {
  auto it = pools_.find(address);
  return it == pools_.end() ? std::string() : it->second;
}

TrustStore::Verdict TrustStore::check(const std::string& address, const IdentityPublicKey& key) {
  std::string fp = fingerprint(key);
  auto it = pools_.find(address);
  if (it == pools_.end()) {
    pools_[address] = fp;
    save();
    return Verdict::first_use;
  }
  return it->second == fp ? Verdict::known : Verdict::changed;
}

void TrustStore::save() const {
  ensure_data_dir(file_.parent_path());
  std::ostringstream out;
  {
    cereal::JSONOutputArchive archive(out);
    archive(cereal::make_nvp("pools", pools_));
  }
  std::string text = out.str() + "\n";
  write_file_atomic(file_, as_bytes(text), 0600);
}

}  // namespace tpdp
