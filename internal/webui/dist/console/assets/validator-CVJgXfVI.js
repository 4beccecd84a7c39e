import{cp as i}from"./index-ZVLs3zM4.js";const n=o=>["",...i].includes(o);export{n as i};
