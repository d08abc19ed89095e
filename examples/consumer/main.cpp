// Builds against the installed package: find_package(axon) + axon::axon.
#include <axon/axon.hpp>

#include <iostream>

int main() {
  using namespace axon;
  Tensor a = arange(6, DType::f32).reshape({2, 3});
  Tensor b = ones({3, 2});
  Tensor c = matmul(a, b);
  std::cout << c << "\n";
  auto [value, g] = value_and_grad([&](const Tensor& x) { return sum(x * x); }, a);
  std::cout << "sum(a^2) = " << value.item<float>() << ", grad = " << g << "\n";
  // 0+1+2 = 3 and 3+4+5 = 12 in each row of c.
  auto v = c.to_vector<float>();
  return (v[0] == 3.f && v[2] == 12.f) ? 0 : 1;
}
